package inmem

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"maps"
	"slices"
	"strings"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// secret mirrors a Secrets Manager secret: its versions, newest last. Like Secrets
// Manager, which removes versions without a staging label only once a secret has more than
// maxVersions, older versions stay readable by id up to that bound.
type secret struct {
	arn      string
	tags     map[string]string
	versions []version
}

const maxVersions = 100

type version struct{ id, value string }

func (s *Store) PutSecret(ctx context.Context, name, value string, tags map[string]string) (forgelink.SecretRef, error) {
	if name == "" {
		return forgelink.SecretRef{}, forgelink.Errorf(forgelink.EINTERNAL, "secret name must not be empty")
	}
	v := version{id: versionID(), value: value}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, ok := s.secrets[name]
	if !ok {
		sec = &secret{arn: fakeARN(name), tags: map[string]string{}}
		s.secrets[name] = sec
	}
	sec.versions = append(sec.versions, v)
	if len(sec.versions) > maxVersions {
		sec.versions = slices.Delete(sec.versions, 0, len(sec.versions)-maxVersions)
	}
	maps.Copy(sec.tags, tags)
	return forgelink.SecretRef{ARN: sec.arn, Version: v.id}, nil
}

func (s *Store) GetSecret(ctx context.Context, ref forgelink.SecretRef) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sec := s.lookupSecret(ref.ARN); sec != nil {
		if ref.Version == "" {
			return sec.versions[len(sec.versions)-1].value, nil
		}
		for _, v := range sec.versions {
			if v.id == ref.Version {
				return v.value, nil
			}
		}
	}
	return "", forgelink.Errorf(forgelink.ENOTFOUND, "secret not found")
}

func (s *Store) DeleteSecret(ctx context.Context, arnOrName string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, sec := range s.secrets {
		if name == arnOrName || sec.arn == arnOrName {
			delete(s.secrets, name)
		}
	}
	return nil
}

func (s *Store) ListSecrets(ctx context.Context, prefix string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for name := range s.secrets {
		if strings.HasPrefix(name, prefix) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out, nil
}

// SecretTags returns a copy of the tags of the named secret (nil when missing), so tests
// can check that secrets are tagged with their org and integration.
func (s *Store) SecretTags(name string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sec, ok := s.secrets[name]; ok {
		return maps.Clone(sec.tags)
	}
	return nil
}

// lookupSecret accepts a name or an ARN, as Secrets Manager's SecretId does. An ARN of a
// deleted and re-created secret does not match: the new secret has a new random suffix.
func (s *Store) lookupSecret(arnOrName string) *secret {
	if sec, ok := s.secrets[arnOrName]; ok {
		return sec
	}
	for _, sec := range s.secrets {
		if sec.arn == arnOrName {
			return sec
		}
	}
	return nil
}

func fakeARN(name string) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "arn:aws:secretsmanager:local:000000000000:secret:" + name + "-" + string(b)
}

// versionID looks like Secrets Manager's: a random UUID.
func versionID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
