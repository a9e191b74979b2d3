package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/kelisim/kelisim/catalog"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "catalog",
		Usage: "[--json] [--category <name>] [<id or word>...]",
		Short: "Lists the built-in catalog of processors",
		Long: `
Lists the processors the gateway knows: id (what a "processors" line
names), name, consent category, country, and the hosts it is recognised
by. Words given narrow the list to processors whose id, name, company or
hosts contain one of them. A site adds or overrides entries with
processor blocks in its consent directive.

  $ kelisim catalog yandex
  $ kelisim catalog --category analytics --json`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.Flags().Bool("json", false, "Print the entries as JSON")
			cmd.Flags().String("category", "", "Only this category: functional, analytics or marketing")
			cmd.RunE = caddycmd.WrapCommandFuncForCobra(cmdCatalog)
		},
	})
}

func cmdCatalog(fl caddycmd.Flags) (int, error) {
	var want catalog.Category
	if c := fl.String("category"); c != "" {
		var err error
		if want, err = catalog.ParseCategory(c); err != nil {
			return 1, err
		}
	}
	var list []catalog.Processor
	for _, p := range catalog.Builtin() {
		if (want == "" || p.Category == want) && matches(p, fl.Args()) {
			list = append(list, p)
		}
	}
	if fl.Bool("json") {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if list == nil {
			list = []catalog.Processor{}
		}
		return 0, enc.Encode(list)
	}
	if len(list) == 0 {
		return 1, fmt.Errorf("no processor in the catalog matches %s", strings.Join(fl.Args(), " "))
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tCATEGORY\tCOUNTRY\tHOSTS")
	for _, p := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.ID, p.Name, p.Category, p.Country, strings.Join(p.URLs, " "))
	}
	return 0, tw.Flush()
}

// matches reports whether p's id, name, company or hosts contain one of
// words (case-insensitively); no words match everything.
func matches(p catalog.Processor, words []string) bool {
	if len(words) == 0 {
		return true
	}
	hay := strings.ToLower(strings.Join(append([]string{p.ID, p.Name, p.Company}, p.URLs...), " "))
	for _, w := range words {
		if strings.Contains(hay, strings.ToLower(w)) {
			return true
		}
	}
	return false
}
