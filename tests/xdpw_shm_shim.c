/* LD_PRELOAD shim for xdg-desktop-portal-wlr 0.7.x on a compositor without DMA-BUF
 * (wlroots pixman renderer, no /dev/dri), used by tests/wayland_session.py. xdpw refuses
 * Start() unless the screencopy frame also announced a linux_dmabuf format, although it then
 * negotiates SHM buffers anyway when the compositor offers no dmabuf modifiers. This shim
 * announces a linux_dmabuf format equal to the SHM one, right after each `buffer` event.
 * (Debian 12's xdpw 0.7.0: src/screencast/screencast.c, start_screencast, requires a DMA-BUF
 * format whenever its interface version is >= 3, which in 0.7.0 it always is.) */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <string.h>

struct wl_proxy;
const char *wl_proxy_get_class(struct wl_proxy *proxy);

typedef void (*buffer_fn)(void *, void *, uint32_t, uint32_t, uint32_t, uint32_t);
typedef void (*dmabuf_fn)(void *, void *, uint32_t, uint32_t, uint32_t);
struct frame_listener {   /* zwlr_screencopy_frame_v1_listener, version 3 */
	buffer_fn buffer; void *flags, *ready, *failed, *damage;
	dmabuf_fn linux_dmabuf; void *buffer_done;
};
static const struct frame_listener *orig;
static struct frame_listener patched;

static void buffer_hook(void *data, void *frame, uint32_t format,
		uint32_t width, uint32_t height, uint32_t stride) {
	orig->buffer(data, frame, format, width, height, stride);
	/* wl_shm ARGB8888=0 / XRGB8888=1 differ from their DRM fourccs; others are equal */
	uint32_t drm = format == 0 ? 0x34325241 : format == 1 ? 0x34325258 : format;
	orig->linux_dmabuf(data, frame, drm, width, height);
}

int wl_proxy_add_listener(struct wl_proxy *proxy, void (**implementation)(void), void *data) {
	static int (*real)(struct wl_proxy *, void (**)(void), void *);
	if (!real) real = dlsym(RTLD_NEXT, "wl_proxy_add_listener");
	if (strcmp(wl_proxy_get_class(proxy), "zwlr_screencopy_frame_v1") == 0) {
		orig = (const struct frame_listener *)implementation;
		patched = *orig;
		patched.buffer = buffer_hook;
		implementation = (void (**)(void))&patched;
	}
	return real(proxy, implementation, data);
}
