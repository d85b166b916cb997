package stream

import (
	"io"
	"net/http"

	"github.com/labstack/echo/v4"
)

// responseWriter is an echo.Response that also implements io.ReaderFrom.
// echo.Response does not, which hides net/http's own ReadFrom from io.Copy:
// with it, http.ServeContent over an *os.File reaches the kernel's sendfile
// instead of copying through a 32 KiB buffer.
type responseWriter struct {
	*echo.Response
}

func (w responseWriter) ReadFrom(r io.Reader) (int64, error) {
	if !w.Committed {
		w.WriteHeader(http.StatusOK)
	}
	rf, ok := w.Writer.(io.ReaderFrom)
	if !ok {
		return io.Copy(struct{ io.Writer }{w.Response}, r)
	}
	n, err := rf.ReadFrom(r)
	w.Size += n
	return n, err
}
