// Package previews makes seek previews of videos: JPEG sprite sheets of
// small tiles, one per interval of the video, and a WebVTT file whose cues
// point at them (sprite-N.jpg#xywh=x,y,w,h, the form video.js, Shaka, Plyr
// and JW Player read). They are made once per file version by ffmpeg,
// reading the video through reelcache's own cache (chunker.File served to
// ffmpeg over a private loopback URL), stored in Redis under the version
// (chunker.Cache.SetMeta) and shared by every instance: a lease
// (chunker.Cache.MetaLease) lets one of them run the job.
//
// Routes (Handler.Register), behind the media routes' middleware (CORS,
// signatures, the per-client limit, pacing):
//
//	GET /previews/NAME.vtt                      the WebVTT file of NAME
//	GET /previews/NAME/VERSION/sprite-N.jpg     its sprite sheets
//
// Files: previews.go (Handler, Options, defaults), routes.go (HTTP),
// wait.go (one job per version: memo, lease, waiting), job.go (the ffmpeg
// job), source.go (the loopback URL over a chunker.File), probe.go
// (ffprobe and what it says about the input), layout.go (interval, tiles
// and the WebVTT text), result.go (the stored value), metrics.go.
package previews
