package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cairn-backup/cairn/repo"
)

func TestOpenSaysNoRepositoryBeforeAskingForAPassword(t *testing.T) {
	dir := t.TempDir()
	be, err := OpenStorage(Storage{Location: "local:" + dir})
	if err != nil {
		t.Fatal(err)
	}
	asked := false
	_, err = Open(context.Background(), be, dir, func() ([]byte, error) { asked = true; return []byte("pw"), nil }, repo.Options{})
	var nr *NoRepositoryError
	if !errors.As(err, &nr) || nr.Location != dir || !errors.Is(err, repo.ErrNoRepository) || asked {
		t.Fatalf("Open = %v (asked for a password: %v); want a NoRepositoryError naming %s first", err, asked, dir)
	}
	if _, err := OpenStorage(Storage{Location: "ftp://host/x"}); err == nil {
		t.Error("an unknown scheme was accepted")
	}
	if _, err := OpenStorage(Storage{Location: "s3:https://host"}); err == nil {
		t.Error("an S3 location without a bucket was accepted")
	}
}

func TestPasswordSources(t *testing.T) {
	f := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(f, []byte("secret\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if pw, err := ReadPasswordFile(f); err != nil || string(pw) != "secret" {
		t.Errorf("ReadPasswordFile = %q, %v", pw, err)
	}
	if pw, err := PasswordFromCommand(context.Background(), "printf 'from command\\n'", ""); err != nil || string(pw) != "from command" {
		t.Errorf("PasswordFromCommand = %q, %v", pw, err)
	}
	if _, err := PasswordFromCommand(context.Background(), "true", ""); err == nil {
		t.Error("an empty password from a command was accepted")
	}
	if _, err := PasswordFromCommand(context.Background(), "exit 3", ""); err == nil {
		t.Error("a failing password command was accepted")
	}
}

func TestApplyOptions(t *testing.T) {
	var s Storage
	if err := s.ApplyOptions([]string{"s3.region=eu-west-3", "s3.bucket-lookup=dns", "s3.connections=4", "s3.storage-class=STANDARD_IA"}); err != nil {
		t.Fatal(err)
	}
	if s.Region != "eu-west-3" || s.Addressing != "virtual" || s.Connections != 4 || s.StorageClass != "STANDARD_IA" {
		t.Errorf("options gave %+v", s)
	}
	for _, bad := range []string{"s3.region", "s3.region=", "s3.connections=0", "s3.bucket-lookup=sideways", "local.layout=default"} {
		if err := s.ApplyOptions([]string{bad}); err == nil {
			t.Errorf("-o %s accepted", bad)
		}
	}
}
