package httprec

import "net/http"

// Recorder passes everything through to ResponseWriter and remembers the
// final status (0 until the handler writes a header, a body or a flush) and
// the number of body bytes written.
type Recorder struct {
	http.ResponseWriter
	Status int
	Bytes  int64
}

func (r *Recorder) WriteHeader(code int) {
	// 1xx responses are informational; the final status comes later.
	if r.Status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		r.Status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *Recorder) Write(body []byte) (int, error) {
	if r.Status == 0 {
		r.Status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(body)
	r.Bytes += int64(n)
	return n, err
}

// Flush passes flushes through (streamed responses).
func (r *Recorder) Flush() {
	if r.Status == 0 {
		r.Status = http.StatusOK
	}
	// A writer that cannot flush has nothing to flush.
	_ = http.NewResponseController(r.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection's writer
// (deadlines, hijacking).
func (r *Recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
