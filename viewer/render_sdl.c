/* The SDL2 backend of draw.h and the PNG writer (see render_sdl.h). */
#include "render_sdl.h"

#include <SDL_ttf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define FONT_PT 12

const char *vw_font_path(void) {
  static const char *const paths[] = {
      "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
      "/usr/share/fonts/dejavu/DejaVuSansMono.ttf",
      "/usr/share/fonts/TTF/DejaVuSansMono.ttf",
      "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf",
      "/usr/share/fonts/liberation-mono/LiberationMono-Regular.ttf",
      "/usr/share/fonts/truetype/freefont/FreeMono.ttf",
  };
  const char *env = getenv("EXECTRACE_FONT");
  if (env && *env && access(env, R_OK) == 0) return env;
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
    if (access(paths[i], R_OK) == 0) return paths[i];
  return NULL;
}

static void set_color(SDL_Renderer *r, uint32_t c) {
  uint8_t a = (uint8_t)(c >> 24);
  SDL_SetRenderDrawColor(r, (uint8_t)(c >> 16), (uint8_t)(c >> 8), (uint8_t)c, a ? a : 255);
}

static void sdl_rect(void *ctx, int x, int y, int w, int h, uint32_t c) {
  vw_sdl *s = ctx;
  SDL_Rect rc = {x, y, w, h};
  set_color(s->r, c);
  SDL_RenderFillRect(s->r, &rc);
}

static void sdl_line(void *ctx, int x0, int y0, int x1, int y1, uint32_t c) {
  vw_sdl *s = ctx;
  set_color(s->r, c);
  SDL_RenderDrawLine(s->r, x0, y0, x1, y1);
}

static void sdl_text(void *ctx, int x, int y, const char *str, size_t n, uint32_t c) {
  vw_sdl *s = ctx;
  if (!s->atlas) return;
  uint8_t a = (uint8_t)(c >> 24);
  SDL_SetTextureColorMod(s->atlas, (uint8_t)(c >> 16), (uint8_t)(c >> 8), (uint8_t)c);
  SDL_SetTextureAlphaMod(s->atlas, a ? a : 255);
  for (size_t i = 0; i < n; i++, x += s->cw) {
    unsigned ch = (unsigned char)str[i];
    if (ch == ' ') continue;
    if (ch < 32 || ch > 126) ch = '?';
    SDL_Rect src = {(int)(ch - 32) * s->cw, 0, s->cw, s->ch}, dst = {x, y, s->cw, s->ch};
    SDL_RenderCopy(s->r, s->atlas, &src, &dst);
  }
}

static void sdl_clip(void *ctx, int x, int y, int w, int h) {
  vw_sdl *s = ctx;
  if (w < 0) {
    SDL_RenderSetClipRect(s->r, NULL);
    return;
  }
  SDL_Rect rc = {x, y, w, h > 0 ? h : 0};
  SDL_RenderSetClipRect(s->r, &rc);
}

int vw_sdl_init(vw_sdl *s, SDL_Renderer *r, vw_draw *d) {
  static const vw_draw_ops ops = {sdl_rect, sdl_line, sdl_text, sdl_clip};
  static bool warned;
  memset(s, 0, sizeof *s);
  memset(d, 0, sizeof *d);
  s->r = r;
  s->cw = 7;
  s->ch = 14;
  d->ops = &ops;
  d->ctx = s;
  SDL_SetRenderDrawBlendMode(r, SDL_BLENDMODE_BLEND);
  const char *path = vw_font_path();
  if (!TTF_WasInit() && TTF_Init() != 0) path = NULL;
  TTF_Font *f = path ? TTF_OpenFont(path, FONT_PT) : NULL;
  if (!f) {
    if (!warned)
      fprintf(stderr, "exectrace view: warning: no monospace font found (install fonts-dejavu-core or set "
                      "EXECTRACE_FONT): drawing without text\n");
    warned = true;
  } else {
    int adv = 0;
    TTF_GlyphMetrics(f, 'M', NULL, NULL, NULL, NULL, &adv);
    s->cw = adv > 0 ? adv : 7;
    s->ch = TTF_FontHeight(f);
    SDL_Surface *sheet = SDL_CreateRGBSurfaceWithFormat(0, 95 * s->cw, s->ch, 32, SDL_PIXELFORMAT_ARGB8888);
    if (sheet) {
      SDL_FillRect(sheet, NULL, SDL_MapRGBA(sheet->format, 255, 255, 255, 0));
      SDL_Color white = {255, 255, 255, 255};
      for (int ch = 33; ch <= 126; ch++) {
        SDL_Surface *g = TTF_RenderGlyph_Blended(f, (Uint16)ch, white);
        if (!g) continue;
        SDL_SetSurfaceBlendMode(g, SDL_BLENDMODE_NONE);
        SDL_Rect dst = {(ch - 32) * s->cw, 0, g->w < s->cw ? g->w : s->cw, s->ch};
        SDL_Rect src = {0, 0, dst.w, g->h < s->ch ? g->h : s->ch};
        SDL_BlitSurface(g, &src, sheet, &dst);
        SDL_FreeSurface(g);
      }
      s->atlas = SDL_CreateTextureFromSurface(r, sheet);
      if (s->atlas) SDL_SetTextureBlendMode(s->atlas, SDL_BLENDMODE_BLEND);
      SDL_FreeSurface(sheet);
    }
    TTF_CloseFont(f);
  }
  d->char_w = s->cw;
  d->char_h = s->ch;
  return 0;
}

void vw_sdl_free(vw_sdl *s) {
  if (s->atlas) SDL_DestroyTexture(s->atlas);
  s->atlas = NULL;
}

/* ---- PNG: signature, IHDR, one zlib IDAT, IEND ---- */

static void be32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16), p[2] = (unsigned char)(v >> 8),
  p[3] = (unsigned char)v;
}

static bool chunk(FILE *f, const char *type, const unsigned char *data, size_t n) {
  unsigned char hdr[8];
  be32(hdr, (uint32_t)n);
  memcpy(hdr + 4, type, 4);
  uLong crc = crc32(0, hdr + 4, 4);
  if (n) crc = crc32(crc, data, (uInt)n);
  unsigned char tail[4];
  be32(tail, (uint32_t)crc);
  return fwrite(hdr, 1, 8, f) == 8 && (n == 0 || fwrite(data, 1, n, f) == n) && fwrite(tail, 1, 4, f) == 4;
}

int vw_png_write(const char *path, int w, int h, const void *pixels, int pitch) {
  size_t row = (size_t)w * 3 + 1, raw_n = row * (size_t)h;
  unsigned char *raw = malloc(raw_n);
  uLongf zn = compressBound((uLong)raw_n);
  unsigned char *z = malloc(zn);
  if (!raw || !z) {
    free(raw);
    free(z);
    return -ENOMEM;
  }
  for (int y = 0; y < h; y++) {
    const uint32_t *src = (const uint32_t *)(const void *)((const char *)pixels + (size_t)y * (size_t)pitch);
    unsigned char *dst = raw + (size_t)y * row;
    *dst++ = 0; /* filter: none */
    for (int x = 0; x < w; x++) {
      uint32_t p = src[x];
      *dst++ = (unsigned char)(p >> 16);
      *dst++ = (unsigned char)(p >> 8);
      *dst++ = (unsigned char)p;
    }
  }
  int zerr = compress2(z, &zn, raw, (uLong)raw_n, 6);
  free(raw);
  if (zerr != Z_OK) {
    free(z);
    return -ENOMEM;
  }
  FILE *f = fopen(path, "wb");
  if (!f) {
    int err = -errno;
    free(z);
    return err;
  }
  unsigned char ihdr[13];
  be32(ihdr, (uint32_t)w);
  be32(ihdr + 4, (uint32_t)h);
  ihdr[8] = 8;  /* bit depth */
  ihdr[9] = 2;  /* colour type: RGB */
  ihdr[10] = 0; /* deflate */
  ihdr[11] = 0; /* adaptive filtering */
  ihdr[12] = 0; /* no interlace */
  static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  bool ok = fwrite(sig, 1, 8, f) == 8 && chunk(f, "IHDR", ihdr, 13) && chunk(f, "IDAT", z, zn) &&
            chunk(f, "IEND", NULL, 0);
  free(z);
  if (fclose(f) != 0) ok = false;
  return ok ? 0 : -EIO;
}
