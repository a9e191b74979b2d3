package stats

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// TestOptInChartReadable: two categories at the same rate stay two
// lines with two labels (apart), and the first and last days' labels
// sit inside the chart, not cut at its edges.
func TestOptInChartReadable(t *testing.T) {
	var days []DayReport
	for i := 1; i <= 30; i++ {
		d := DayReport{Date: fmt.Sprintf("2026-11-%02d", i)}
		d.Actions = Actions{AcceptAll: 5, RejectAll: 5, Withdraw: 3}
		d.Categories = map[string]int{"functional": 5, "analytics": 5, "marketing": 4}
		days = append(days, d)
	}
	svg := string(optInChart(days, "opt-in"))
	var ys []float64
	for _, m := range regexp.MustCompile(`<text x="[0-9.]+" y="([0-9.]+)" font-size="11" fill="#[0-9a-f]+">[0-9.]+%</text>`).FindAllStringSubmatch(svg, -1) {
		y, _ := strconv.ParseFloat(m[1], 64)
		ys = append(ys, y)
	}
	if len(ys) != 3 {
		t.Fatalf("%d end labels, want 3:\n%s", len(ys), svg)
	}
	sort.Float64s(ys)
	if ys[1]-ys[0] < 12 || ys[2]-ys[1] < 12 {
		t.Errorf("end labels overlap: %v", ys)
	}
	if strings.Count(svg, `stroke-dasharray=`) != 3 || !strings.Contains(svg, `stroke-dasharray="7 4"`) {
		t.Error("the lines are not told apart by their dashes")
	}
	// 5 of 10 decisions (the withdrawals apart): 50 %.
	if !strings.Contains(svg, ">50.0%<") {
		t.Errorf("rate not of the decisions made:\n%s", svg)
	}
	if !strings.Contains(svg, `text-anchor="start" font-size="11" fill="#4a4a4a">11-01<`) || !strings.Contains(svg, `text-anchor="end" font-size="11" fill="#4a4a4a">11-30<`) {
		t.Errorf("first or last day's label missing or cut:\n%s", svg)
	}
}
