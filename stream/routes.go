package stream

import "github.com/labstack/echo/v4"

// Register adds the handler's routes to e, each with its middleware, in
// this order (outermost first):
//
//	/media/*       CORS, CacheControl, RequireSignature, LimitStreams, Shape
//	/api/media     CORS, CacheControl(no-store), RequireGrant
//	/api/chunks/*  CORS, CacheControl(no-store), RequireGrant
//	/              the page (no CORS)
//
// Each is left out when its option is off. CORS comes first so that even a
// 403 or 429 reaches a page on an allowed origin as a status it can read;
// with CORS on, the three routes also answer preflight OPTIONS.
func (h *Handler) Register(e *echo.Echo) {
	cors := h.cors()
	media := h.MediaMiddleware()
	api := append(cors[:len(cors):len(cors)], CacheControl("no-store"))
	if h.signer != nil {
		api = append(api, RequireGrant(h.signer))
	}
	e.GET("/media/*", h.Media, media...)
	e.HEAD("/media/*", h.Media, media...)
	e.GET("/api/media", h.List, api...)
	e.GET("/api/chunks/*", h.Chunks, api...)
	if cors != nil {
		for _, p := range []string{"/media/*", "/api/media", "/api/chunks/*"} {
			e.OPTIONS(p, preflight, cors...)
		}
	}
	if h.static != nil {
		page := echo.WrapHandler(pageHandler(h.static, h.opts.HLSPlayer))
		e.GET("/*", page)
		e.HEAD("/*", page)
	}
}

// cors returns the CORS middleware, or none when CORS is off.
func (h *Handler) cors() []echo.MiddlewareFunc {
	if len(h.opts.CORSOrigins) == 0 {
		return nil
	}
	return []echo.MiddlewareFunc{CORS(h.opts.CORSOrigins)}
}

// MediaMiddleware returns, in order, the middleware every route that
// serves media bytes gets: CORS, CacheControl, RequireSignature (with a
// Signer), LimitStreams and Shape (when set). Other packages' routes that
// serve cached bytes (packaged segments, previews) use it so that they are
// signed, limited and paced exactly like /media/. It returns a new slice.
func (h *Handler) MediaMiddleware() []echo.MiddlewareFunc {
	o := h.opts
	cors := h.cors()
	media := append(cors[:len(cors):len(cors)], CacheControl(o.CacheControl))
	if h.signer != nil {
		media = append(media, RequireSignature(h.signer))
	}
	if o.MaxStreamsPerClient > 0 {
		media = append(media, LimitStreams(o.MaxStreamsPerClient))
	}
	if o.LimitRate > 0 {
		media = append(media, Shape(o.LimitRate, o.LimitRateAfter))
	}
	return media
}
