package snapshot

import "testing"

func TestFilter(t *testing.T) {
	var f Filter
	if err := f.Add([]string{"*.o", "# comment", "", "/home/*/.cache", "node_modules", "logs/", "build/tmp", "!keep.o"}, false); err != nil {
		t.Fatal(err)
	}
	var fi Filter
	if err := fi.Add([]string{"*.JPG"}, true); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		f     *Filter
		path  string
		isDir bool
		want  bool
	}{
		{&f, "/src/a.o", false, true},
		{&f, "/src/a.c", false, false},
		{&f, "/src/keep.o", false, false},
		{&f, "/home/ann/.cache", true, true},
		{&f, "/srv/home/ann/.cache", true, false},
		{&f, "/x/y/node_modules", true, true},
		{&f, "/x/logs", true, true},
		{&f, "/x/logs", false, false},
		{&f, "/p/build/tmp", true, true},
		{&f, "/p/build/tmpx", true, false},
		{&fi, "/pics/A.jpg", false, true},
		{&fi, "/pics/a.JPG", false, true},
		{&f, "/pics/a.JPG", false, false},
	}
	for _, tt := range tests {
		if got := tt.f.Match(tt.path, tt.isDir); got != tt.want {
			t.Errorf("Match(%q, dir=%v) = %v, want %v", tt.path, tt.isDir, got, tt.want)
		}
	}
	var bad Filter
	if err := bad.Add([]string{"[unclosed"}, false); err == nil {
		t.Error("invalid pattern accepted")
	}
}
