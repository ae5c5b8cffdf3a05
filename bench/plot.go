package bench

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

var toolColors = []color.Color{
	color.RGBA{R: 0x1b, G: 0x6a, B: 0xa5, A: 0xff},
	color.RGBA{R: 0xe0, G: 0x7b, B: 0x22, A: 0xff},
	color.RGBA{R: 0x3a, G: 0x9a, B: 0x4a, A: 0xff},
	color.RGBA{R: 0x9b, G: 0x4d, B: 0xa8, A: 0xff},
}

// Plot draws the report as grouped bars of MB/s per step, one colour per
// tool, and writes it to file (SVG, PNG or PDF by extension).
func Plot(rep *Report, file string) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: %d files, %.0f MB", rep.Dataset, rep.Files, float64(rep.Bytes)/1e6)
	p.Y.Label.Text = "MB/s (higher is better)"
	width := vg.Points(14)
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
