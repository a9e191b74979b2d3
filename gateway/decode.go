package gateway

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

// canDecode reports whether an origin's Content-Encoding can be undone.
func canDecode(enc string) bool {
	switch enc {
	case "gzip", "x-gzip", "deflate", "br", "zstd":
		return true
	}
	return false
}

// decoder undoes a Content-Encoding the origin applied although the
// gateway asked for identity. Compressed bytes written to it are
// decompressed by a goroutine that feeds the rewriter; Close waits for it.
type decoder struct {
	pw   *io.PipeWriter
	done chan error
}

func newDecoder(enc string, dst io.Writer) *decoder {
	pr, pw := io.Pipe()
	d := &decoder{pw: pw, done: make(chan error, 1)}
	go func() {
		var r io.Reader
		var err error
		switch enc {
		case "gzip", "x-gzip":
			var zr *gzip.Reader
			if zr, err = gzip.NewReader(pr); err == nil {
				r = zr
			}
		case "deflate":
			// "deflate" is zlib-wrapped by the standard, raw in practice
			// as often: look at the first two bytes.
			br := bufio.NewReader(pr)
			if hdr, perr := br.Peek(2); perr == nil && hdr[0]&0x0f == 8 && (uint16(hdr[0])<<8|uint16(hdr[1]))%31 == 0 {
				var zr io.ReadCloser
				if zr, err = zlib.NewReader(br); err == nil {
					r = zr
				}
			} else {
				r = flate.NewReader(br)
			}
		case "br":
			r = brotli.NewReader(pr)
		case "zstd":
			var zr *zstd.Decoder
			if zr, err = zstd.NewReader(pr, zstd.WithDecoderConcurrency(1)); err == nil {
				defer zr.Close()
				r = zr
			}
		default:
			err = fmt.Errorf("unsupported content encoding %q", enc)
		}
		if err == nil {
			_, err = io.Copy(dst, r)
		}
		if err != nil {
			err = fmt.Errorf("decoding %s body: %w", enc, err)
		}
		// Unblock the writer whatever happened: its next Write fails.
		pr.CloseWithError(err)
		d.done <- err
	}()
	return d
}

func (d *decoder) Write(p []byte) (int, error) {
	// The pipe blocks until the goroutine has taken every byte.
	if _, err := d.pw.Write(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close ends the compressed stream and waits for the rewriter to be fed.
func (d *decoder) Close() error {
	d.pw.Close()
	return <-d.done
}

// Abort stops the decoder of an abandoned response.
func (d *decoder) Abort() {
	d.pw.CloseWithError(errAborted)
	<-d.done
}

var errAborted = fmt.Errorf("response abandoned")
