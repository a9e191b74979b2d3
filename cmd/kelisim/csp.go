package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/kelisim/kelisim/csp"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "csp",
		Usage: "suggest [--address <admin>] [--config <file>] [--json]",
		Short: "Suggests the csp allow line from what the policy reported",
		Long: `
Asks the running gateway (on Caddy's admin endpoint) which hosts its
Content-Security-Policy reported since it started, and prints those the
catalog does not know — the site's own third parties — with the csp
allow line that lets them in. Review it: a host that tracks visitors
belongs in a processor block instead. Processors the policy blocked as
intended are listed apart.

  $ kelisim csp suggest
  $ kelisim csp suggest --address localhost:2019 --json`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.Flags().String("address", "", "The admin endpoint of the running gateway (default: from --config, else localhost:2019)")
			cmd.Flags().String("config", "", "The gateway's config file, to find its admin endpoint")
			cmd.Flags().String("adapter", "", "The config file's adapter")
			cmd.Flags().Bool("json", false, "Print the hosts as JSON")
			cmd.RunE = caddycmd.WrapCommandFuncForCobra(cmdCSP)
		},
	})
}

func cmdCSP(fl caddycmd.Flags) (int, error) {
	if fl.Arg(0) != "suggest" || fl.NArg() != 1 {
		return 2, fmt.Errorf("usage: kelisim csp suggest [--address <admin>]")
	}
	addr, err := caddycmd.DetermineAdminAPIAddress(fl.String("address"), nil, fl.String("config"), fl.String("adapter"))
	if err != nil {
		return 1, err
	}
	res, err := caddycmd.AdminAPIRequest(addr, http.MethodGet, "/kelisim/third-parties", nil, nil)
	if err != nil {
		return 1, fmt.Errorf("asking the gateway at %s (is it running? --address names its admin endpoint): %w", addr, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var seen []csp.Entry
	if err := json.Unmarshal(body, &seen); err != nil {
		return 1, fmt.Errorf("the gateway at %s did not answer with third parties: %s", addr, strings.TrimSpace(string(body)))
	}
	var unknown, processors []csp.Entry
	for _, e := range seen {
		if e.Processor == "" {
			unknown = append(unknown, e)
		} else {
			processors = append(processors, e)
		}
	}
	if fl.Bool("json") {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if unknown == nil {
			unknown = []csp.Entry{}
		}
		return 0, enc.Encode(unknown)
	}
	if len(unknown) == 0 {
		fmt.Println("The policy reported no host the catalog does not know (since the gateway started): nothing to allow.")
	} else {
		fmt.Println("Hosts your pages load that the catalog does not know, as the policy reported them since the gateway started:")
		fmt.Println()
		w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, "HOST\tDIRECTIVE\tCOUNT\tLAST SEEN\tPAGE")
		var hosts []string
		for _, e := range unknown {
			fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\n", e.Host, e.Directive, e.Count, e.Last.UTC().Format("2006-01-02 15:04"), e.Page)
			if !slices.Contains(hosts, e.Host) {
				hosts = append(hosts, e.Host)
			}
		}
		w.Flush()
		fmt.Println()
		fmt.Println("Allow them in the consent block (or declare any that tracks visitors as a processor):")
		fmt.Println()
		fmt.Println("\tcsp allow " + strings.Join(hosts, " "))
	}
	if len(processors) > 0 {
		var names []string
		for _, e := range processors {
			n := e.Host + " (" + e.Processor + ")"
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
		fmt.Println()
		fmt.Println("Processors the policy blocked as intended: " + strings.Join(names, ", ") + ".")
	}
	return 0, nil
}
