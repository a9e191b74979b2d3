package main

import (
	"os"

	"github.com/kelisim/kelisim/catalog"
	"github.com/kelisim/kelisim/rewrite"
)

func main() {
	c, err := catalog.Compile(catalog.Builtin(), nil)
	if err != nil {
		panic(err)
	}
	in, _ := os.ReadFile(os.Args[1])
	w := rewrite.NewWriter(os.Stdout, &rewrite.Policy{Catalog: c, Head: []byte("<!--HEAD-->"), Body: []byte("<!--BODY-->")})
	w.Write(in)
	w.Close()
}
