package routine

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cairn-backup/cairn/config"
)

func TestCommandEnvKeepsTwoAccountsApart(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	dst := &config.Repository{Name: "dst", URL: "s3:http://h/b", PasswordFile: "/pw-dst",
		S3CredentialsFile: write("dst.env", "AWS_ACCESS_KEY_ID=dst-key\nAWS_SECRET_ACCESS_KEY=dst-secret\n")}
	src := &config.Repository{Name: "src", URL: "s3:http://h/a", PasswordCommand: "pass src",
		S3CredentialsFile: write("src.env", "# the source account\nexport AWS_ACCESS_KEY_ID=\"src-key\"\nAWS_SECRET_ACCESS_KEY=src-secret\n")}
	t.Setenv("CAIRN_PASSWORD", "inherited")
	env, err := commandEnv(Command{Repo: dst, From: src})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CAIRN_REPOSITORY=s3:http://h/b", "CAIRN_PASSWORD_FILE=/pw-dst", "AWS_ACCESS_KEY_ID=dst-key",
		"CAIRN_FROM_REPOSITORY=s3:http://h/a", "CAIRN_FROM_PASSWORD_COMMAND=pass src", "CAIRN_FROM_AWS_ACCESS_KEY_ID=src-key",
		"CAIRN_FROM_AWS_SECRET_ACCESS_KEY=src-secret"} {
		if !slices.Contains(env, want) {
			t.Errorf("environment lacks %s", want)
		}
	}
	if slices.Contains(env, "CAIRN_PASSWORD=inherited") {
		t.Errorf("a repository with a password file also got the inherited CAIRN_PASSWORD")
	}
	write("bad.env", "AWS_ACCESS_KEY_ID=x\nPATH=/evil\n")
	src.S3CredentialsFile = filepath.Join(dir, "bad.env")
	if _, err := commandEnv(Command{Repo: dst, From: src}); err == nil {
		t.Errorf("a credentials file setting PATH was accepted")
	}
}
