package gateway

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/text/encoding"
	"golang.org/x/text/transform"
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
		r, closeFn, err := decodingReader(enc, pr)
		if err == nil {
			_, err = io.Copy(dst, r)
		}
		closeFn()
		if err != nil {
			err = fmt.Errorf("decoding %s body: %w", enc, err)
		}
		// Unblock the writer whatever happened: its next Write fails.
		pr.CloseWithError(err)
		d.done <- err
	}()
	return d
}

// decodingReader returns a reader of what src decodes to in content
// coding enc, and a function that frees it.
func decodingReader(enc string, src io.Reader) (io.Reader, func(), error) {
	none := func() {}
	switch enc {
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(src)
		return zr, none, err
	case "deflate":
		// "deflate" is zlib-wrapped by the standard, raw in practice as
		// often: look at the first two bytes.
		br := bufio.NewReader(src)
		if hdr, err := br.Peek(2); err == nil && hdr[0]&0x0f == 8 && (uint16(hdr[0])<<8|uint16(hdr[1]))%31 == 0 {
			zr, err := zlib.NewReader(br)
			return zr, none, err
		}
		return flate.NewReader(br), none, nil
	case "br":
		return brotli.NewReader(src), none, nil
	case "zstd":
		zr, err := zstd.NewReader(src, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, none, err
		}
		return zr, zr.Close, nil
	}
	return nil, none, fmt.Errorf("unsupported content encoding %q", enc)
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

// inbound undoes, in order, what stands between the origin's bytes and
// the markup the rewriter reads: its content codings (the last applied
// undone first) and a charset that is not ASCII-compatible (decoded to
// UTF-8, as the page is then served).
type inbound struct {
	w    io.Writer      // where body bytes go: the outermost stage
	decs []*decoder     // outermost first
	tr   io.WriteCloser // the charset decoder, before the rewriter
}

func newInbound(codings []string, charset encoding.Encoding, dst io.Writer) *inbound {
	in := &inbound{}
	if charset != nil {
		in.tr = transform.NewWriter(dst, charset.NewDecoder())
		dst = in.tr
	}
	// codings[0] was applied first, so it is undone last: built from the
	// inside out, the first decoder built is the innermost.
	for _, c := range codings {
		d := newDecoder(c, dst)
		in.decs = append([]*decoder{d}, in.decs...)
		dst = d
	}
	in.w = dst
	return in
}

func (in *inbound) Write(p []byte) (int, error) { return in.w.Write(p) }

// async reports whether bytes written may still be on their way to the
// rewriter (a decoder's goroutine holds them): a flush cannot reach them.
func (in *inbound) async() bool { return len(in.decs) > 0 }

// Close ends the body and waits until the rewriter has had all of it.
func (in *inbound) Close() error {
	var err error
	for _, d := range in.decs {
		if derr := d.Close(); err == nil {
			err = derr
		}
	}
	if in.tr != nil {
		if terr := in.tr.Close(); err == nil {
			err = terr
		}
	}
	return err
}

// Abort stops the decoders of an abandoned response.
func (in *inbound) Abort() {
	for _, d := range in.decs {
		d.Abort()
	}
}

// peekDecoded returns up to limit bytes of what head, the start of a body
// with the given content codings, decodes to: what the decisions on the
// first bytes read. A cut-off stream decodes as far as it goes.
func peekDecoded(codings []string, head []byte, limit int) []byte {
	for i := len(codings) - 1; i >= 0; i-- {
		r, closeFn, err := decodingReader(codings[i], bytes.NewReader(head))
		if err != nil {
			return nil
		}
		head, _ = io.ReadAll(io.LimitReader(r, int64(limit)))
		closeFn()
	}
	return head
}
