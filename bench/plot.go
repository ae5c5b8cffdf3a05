package bench

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

var toolColors = []color.Color{
	color.RGBA{R: 0x1b, G: 0x6a, B: 0xa5, A: 0xff},
	color.RGBA{R: 0xe0, G: 0x7b, B: 0x22, A: 0xff},
	color.RGBA{R: 0x3a, G: 0x9a, B: 0x4a, A: 0xff},
	color.RGBA{R: 0x9b, G: 0x4d, B: 0xa8, A: 0xff},
	color.RGBA{R: 0xc9, G: 0x3c, B: 0x3c, A: 0xff},
	color.RGBA{R: 0x7a, G: 0x7a, B: 0x7a, A: 0xff},
	color.RGBA{R: 0x2a, G: 0xb3, B: 0xb3, A: 0xff},
	color.RGBA{R: 0xc9, G: 0xa8, B: 0x1e, A: 0xff},
}

// Plot draws the report as grouped bars of MB/s per step, one colour per
// tool, and writes it to file (SVG, PNG or PDF by extension).
func Plot(rep *Report, file string) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: %d files, %.0f MB", rep.Dataset, rep.Files, float64(rep.Bytes)/1e6)
	p.Y.Label.Text = "MB/s (higher is better)"
	// The bars of one step share about 80 points (of a group's 90), and
	// the plot is tall enough for the legend's rows above the bars.
	width := vg.Points(min(14, 80/float64(max(1, len(rep.Results)))))
	top := 0.0
	for _, r := range rep.Results {
		for _, s := range r.Steps {
			top = max(top, s.MBps)
		}
	}
	if top > 0 {
		p.Y.Min, p.Y.Max = 0, top*(1.05+0.06*float64(len(rep.Results)))
		p.Y.Tick.Marker = plot.TickerFunc(roundTicks)
	}
	for i, r := range rep.Results {
		vals := make(plotter.Values, len(StepNames))
		for k, name := range StepNames {
			vals[k] = 0 // a failed step shows no bar
			for _, s := range r.Steps {
				if s.Name == name && s.Error == "" {
					vals[k] = s.MBps
				}
			}
		}
		bars, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return err
		}
		bars.Color = toolColors[i%len(toolColors)]
		bars.LineStyle.Width = 0
		bars.Offset = width * vg.Length(float64(i)-float64(len(rep.Results)-1)/2)
		p.Add(bars)
		p.Legend.Add(r.Tool, bars)
	}
	p.Legend.Top = true
	p.NominalX(StepNames...)
	return p.Save(vg.Length(7)*vg.Inch, vg.Length(4)*vg.Inch, file)
}

// roundTicks labels the axis at four to ten round values (1, 2 or 5 times
// a power of ten) from min to max.
func roundTicks(min, max float64) []plot.Tick {
	if max <= min {
		return nil
	}
	step := math.Pow(10, math.Floor(math.Log10((max-min)/4)))
	for _, f := range []float64{1, 2, 5, 10} {
		if (max-min)/(step*f) <= 10 {
			step *= f
			break
		}
	}
	var ticks []plot.Tick
	for v := math.Ceil(min/step) * step; v <= max; v += step {
		ticks = append(ticks, plot.Tick{Value: v, Label: fmt.Sprintf("%.0f", v)})
	}
	return ticks
}
