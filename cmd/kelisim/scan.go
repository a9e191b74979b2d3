package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/kelisim/kelisim/catalog"
	"github.com/kelisim/kelisim/scan"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "scan",
		Usage: "[--pages <n>] [--json] <url>",
		Short: "Lists a site's third-party trackers by processor and category",
		Long: `
Crawls the site at <url> (same-host links, up to --pages pages) and lists
every third-party script, inline loader, frame, pixel, link and media
element, and the tracker cookies the server sets — by processor and
category, as the consent gateway would classify them — then prints the
ready "processors ..." line for the site's consent block. Third-party
hosts the catalog does not know are listed at the end: add a processor
block for those that track. Cookies set by scripts in the browser are
not seen. Exits 1 when not a single page could be read.

  $ kelisim scan https://nlg.kz/`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.Flags().Int("pages", 30, "Maximum number of pages to crawl")
			cmd.Flags().Bool("json", false, "Print the report as JSON")
			cmd.Args = cobra.ExactArgs(1)
			cmd.RunE = caddycmd.WrapCommandFuncForCobra(cmdScan)
		},
	})
}

func cmdScan(fl caddycmd.Flags) (int, error) {
	cat, err := catalog.Compile(catalog.Builtin(), nil)
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	pages, _ := fl.GetInt("pages")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep, err := scan.Scan(ctx, fl.Arg(0), scan.Options{Catalog: cat, MaxPages: pages})
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	if fl.Bool("json") {
		err = rep.WriteJSON(os.Stdout)
	} else {
		rep.WriteText(os.Stdout)
	}
	if err != nil {
		return 1, fmt.Errorf("writing report: %w", err)
	}
	if len(rep.Pages) == 0 {
		why := "no page answered"
		if len(rep.Errors) > 0 {
			why = rep.Errors[0]
		}
		return 1, fmt.Errorf("could not read a single page of %s (%s)", fl.Arg(0), why)
	}
	return 0, nil
}
