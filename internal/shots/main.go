// Command shots takes the README's screenshots with headless Chromium from
// a running demo (`kelisim run` in the repository root):
//
//	go run ./internal/shots -base http://localhost:8080 -out docs
package main

import (
	"context"
	"encoding/base64"
	"flag"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

func main() {
	base := flag.String("base", "http://localhost:8080", "gateway URL of the running demo")
	out := flag.String("out", "docs", "directory for the PNG files")
	flag.Parse()
	os.MkdirAll(filepath.Join(*out, "banner"), 0o755)
	profile, _ := os.MkdirTemp("", "shots-")
	defer os.RemoveAll(profile)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath("/usr/bin/chromium"), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.UserDataDir(profile), chromedp.WindowSize(1280, 860), chromedp.Flag("lang", "kk"))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 180*time.Second)
	defer cancel()

	// shot captures the viewport (where the fixed banner is); full pages
	// for the dashboard and the settings page.
	shot := func(name string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			var buf []byte
			var err error
			if name == "dashboard.png" || name == "settings-ru.png" {
				err = chromedp.FullScreenshot(&buf, 100).Do(ctx)
			} else {
				err = chromedp.CaptureScreenshot(&buf).Do(ctx)
			}
			if err != nil {
				return err
			}
			if buf, err = shrink(buf); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(*out, name), buf, 0o644)
		})
	}
	// The banner: phone and desktop, Kazakh and Russian, light and dark,
	// first and second layer, each from a fresh visit.
	var acts []chromedp.Action
	for _, vp := range []struct {
		name string
		w, h int64
	}{{"phone", 390, 740}, {"desktop", 1280, 800}} {
		for _, lang := range []struct{ code, path string }{{"kk", "/"}, {"ru", "/ru/index.html"}} {
			for _, scheme := range []string{"light", "dark"} {
				name := "banner/" + vp.name + "-" + lang.code + "-" + scheme
				acts = append(acts,
					network.ClearBrowserCookies(),
					chromedp.EmulateViewport(vp.w, vp.h),
					emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}),
					chromedp.Navigate(*base+lang.path),
					chromedp.WaitVisible(`[data-consent-banner]`, chromedp.ByQuery),
					chromedp.Sleep(300*time.Millisecond),
					shot(name+"-1.png"),
					chromedp.Click(`[data-consent-action="customize"]`, chromedp.ByQuery),
					chromedp.WaitVisible(`[role="switch"]`, chromedp.ByQuery),
					chromedp.Sleep(300*time.Millisecond),
					shot(name+"-2.png"))
			}
		}
	}
	auth := base64.StdEncoding.EncodeToString([]byte("marketing:kelisim-demo"))
	acts = append(acts,
		emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "light"}}),
		network.ClearBrowserCookies(),
		chromedp.EmulateViewport(1280, 800),
		chromedp.Navigate(*base+"/"),
		chromedp.WaitVisible(`[data-consent-banner]`, chromedp.ByQuery),
		chromedp.Click(`[data-consent-action="reject-all"]`, chromedp.ByQuery),
		chromedp.Sleep(500*time.Millisecond),
		chromedp.Navigate(*base+"/ru/contacts.html"),
		chromedp.Sleep(800*time.Millisecond),
		chromedp.ScrollIntoView(`iframe[data-consent-category]`, chromedp.ByQuery),
		chromedp.Sleep(300*time.Millisecond),
		shot("placeholder-ru.png"),
		// The settings page after a choice of one's own, on a phone.
		chromedp.EmulateViewport(390, 740),
		chromedp.Navigate(*base+"/_consent/settings?return=/ru/contacts.html&lang=ru"),
		chromedp.WaitVisible(`#kl-c-analytics`, chromedp.ByQuery),
		chromedp.Click(`#kl-c-analytics`, chromedp.ByQuery),
		chromedp.Click(`[data-consent-action="save"]`, chromedp.ByQuery),
		chromedp.Sleep(1200*time.Millisecond),
		shot("settings-ru.png"),
		chromedp.EmulateViewport(1280, 860),
		network.SetExtraHTTPHeaders(network.Headers{"Authorization": "Basic " + auth}),
		chromedp.Navigate(*base+"/consent-stats?lang=en&from=2026-10-27"),
		chromedp.Sleep(300*time.Millisecond),
		shot("dashboard.png"),
	)
	err := chromedp.Run(ctx, append([]chromedp.Action{network.Enable()}, acts...)...)
	if err != nil {
		log.Fatal(err)
	}
}
