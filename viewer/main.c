/* exectrace-view: `exectrace view` as a program of its own, for the viewer's
 * tests and for running it without the rest of the command. */
int et__cmd_view(int argc, char **argv);

int main(int argc, char **argv) {
  char view[] = "view";
  argv[0] = view;
  return et__cmd_view(argc, argv);
}
