package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// numericIDCandidates is how many random numeric ids of each length a
// create offers the script, which takes the first free one.
const numericIDCandidates = 8

// CreateRoom implements Store.
func (s *Redis) CreateRoom(ctx context.Context, r Room) (Room, error) {
	return s.save(ctx, "create", r)
}

// UpdateRoom implements Store.
func (s *Redis) UpdateRoom(ctx context.Context, r Room) (Room, error) {
	r.NumericID = "" // immutable: the script keeps the stored one
	return s.save(ctx, "update", r)
}

// UpsertRoom implements Store.
func (s *Redis) UpsertRoom(ctx context.Context, r Room) (Room, error) {
	return s.save(ctx, "upsert", r)
}

func (s *Redis) save(ctx context.Context, mode string, r Room) (Room, error) {
	if err := s.checkOpen(); err != nil {
		return Room{}, err
	}
	r = r.normalize()
	if err := r.validate(); err != nil {
		return Room{}, err
	}
	aliases, err := json.Marshal(r.Aliases)
	if err != nil {
		return Room{}, fmt.Errorf("store: aliases: %w", err)
	}
	now := time.Now().UTC()
	args := []any{
		s.prefix, r.Name, mode, r.PIN, r.HostPIN, r.NumericID,
		boolArg(r.WaitForHost), boolArg(r.PINOnDirectDial),
		strconv.FormatInt(now.UnixNano(), 10), string(aliases),
		pinDigest(r.PIN), pinDigest(r.HostPIN),
	}
	if r.NumericID == "" {
		for digits := numericIDDigits; digits <= numericIDDigits+2; digits++ {
			for range numericIDCandidates {
				id, err := randomDigits(digits)
				if err != nil {
					return Room{}, err
				}
				if id[0] != '0' {
					args = append(args, id)
				}
			}
		}
	}
	res, err := saveScript.Run(ctx, s.c, nil, args...).StringSlice()
	if err != nil {
		return Room{}, s.redisErr("save room "+r.Name, err)
	}
	switch res[0] {
	case "ok":
		created, err := strconv.ParseInt(res[2], 10, 64)
		if err != nil {
			return Room{}, fmt.Errorf("store: room %q: bad created_at %q", r.Name, res[2])
		}
		r.NumericID = res[1]
		r.CreatedAt = time.Unix(0, created).UTC()
		r.UpdatedAt = now
		return r.clone(), nil
	case "conflict":
		return Room{}, &ConflictError{Field: res[1], Value: res[2], Room: res[3]}
	case "invalid":
		return Room{}, invalid(res[1], "%q is listed twice or repeats the room's name or numeric id", res[2])
	case "notfound":
		return Room{}, fmt.Errorf("room %q: %w", r.Name, ErrNotFound)
	case "full":
		return Room{}, errors.New("store: no free numeric id")
	}
	return Room{}, fmt.Errorf("store: save room %q: unexpected reply %q", r.Name, res)
}

// DeleteRoom implements Store.
func (s *Redis) DeleteRoom(ctx context.Context, name string) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	n, err := deleteScript.Run(ctx, s.c, nil, s.prefix, name).Int()
	if err != nil {
		return s.redisErr("delete room "+name, err)
	}
	if n == 0 {
		return fmt.Errorf("room %q: %w", name, ErrNotFound)
	}
	return nil
}

// GetRoom implements Store.
func (s *Redis) GetRoom(ctx context.Context, name string) (Room, error) {
	if err := s.checkOpen(); err != nil {
		return Room{}, err
	}
	if ValidateRoomName(name) != nil {
		return Room{}, fmt.Errorf("room %q: %w", name, ErrNotFound)
	}
	h, err := s.c.HGetAll(ctx, s.key("room", name)).Result()
	if err != nil {
		return Room{}, s.redisErr("load room "+name, err)
	}
	return roomFromHash(name, h)
}

// ListRooms implements Store.
func (s *Redis) ListRooms(ctx context.Context) ([]Room, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	names, err := s.c.SMembers(ctx, s.key("rooms")).Result()
	if err != nil {
		return nil, s.redisErr("list rooms", err)
	}
	slices.Sort(names)
	cmds := make([]*redis.MapStringStringCmd, len(names))
	_, err = s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, n := range names {
			cmds[i] = p.HGetAll(ctx, s.key("room", n))
		}
		return nil
	})
	if err != nil {
		return nil, s.redisErr("list rooms", err)
	}
	rooms := make([]Room, 0, len(names))
	for i, n := range names {
		r, err := roomFromHash(n, cmds[i].Val())
		if errors.Is(err, ErrNotFound) {
			continue // deleted between the two reads
		}
		if err != nil {
			return nil, err
		}
		rooms = append(rooms, r)
	}
	return rooms, nil
}

// FindBySIPUser implements Store.
func (s *Redis) FindBySIPUser(ctx context.Context, user string) (Room, error) {
	if err := s.checkOpen(); err != nil {
		return Room{}, err
	}
	user = NormalizeSIPUser(user)
	if user == "" {
		return Room{}, fmt.Errorf("sip user %q: %w", user, ErrNotFound)
	}
	name, err := s.c.Get(ctx, s.key("user", user)).Result()
	if errors.Is(err, redis.Nil) {
		return Room{}, fmt.Errorf("sip user %q: %w", user, ErrNotFound)
	}
	if err != nil {
		return Room{}, s.redisErr("find sip user", err)
	}
	return s.GetRoom(ctx, name)
}

// FindByPIN implements Store. The PIN is looked up by its SHA-256 digest:
// a guess that shares digits with a real PIN shares nothing with its
// digest, so the lookup's time tells nothing about how close it came.
func (s *Redis) FindByPIN(ctx context.Context, pin string) (Room, bool, error) {
	if err := s.checkOpen(); err != nil {
		return Room{}, false, err
	}
	v, err := s.c.HGet(ctx, s.key("pins"), pinDigest256(pin)).Result()
	if errors.Is(err, redis.Nil) {
		return Room{}, false, fmt.Errorf("pin: %w", ErrNotFound)
	}
	if err != nil {
		return Room{}, false, s.redisErr("find pin", err)
	}
	name, host, ok := strings.Cut(v, ":")
	if !ok {
		return Room{}, false, fmt.Errorf("store: bad pin entry for room %q", name)
	}
	r, err := s.GetRoom(ctx, name)
	if err != nil {
		return Room{}, false, err
	}
	return r, host == "1", nil
}

// PINInUse implements Store.
func (s *Redis) PINInUse(ctx context.Context, pin, exceptRoom string) (bool, error) {
	if err := s.checkOpen(); err != nil {
		return false, err
	}
	v, err := s.c.HGet(ctx, s.key("pins"), pinDigest256(pin)).Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, s.redisErr("pin in use", err)
	}
	name, _, _ := strings.Cut(v, ":")
	return name != exceptRoom, nil
}

// roomFromHash decodes a room hash; an empty hash is ErrNotFound.
func roomFromHash(name string, h map[string]string) (Room, error) {
	if len(h) == 0 {
		return Room{}, fmt.Errorf("room %q: %w", name, ErrNotFound)
	}
	r := Room{
		Name:            h["name"],
		PIN:             h["pin"],
		HostPIN:         h["host_pin"],
		NumericID:       h["numeric_id"],
		WaitForHost:     h["wait_for_host"] == "1",
		PINOnDirectDial: h["pin_on_direct_dial"] == "1",
		Aliases:         []string{},
	}
	if err := json.Unmarshal([]byte(h["aliases"]), &r.Aliases); err != nil {
		return Room{}, fmt.Errorf("store: room %q: aliases: %w", name, err)
	}
	if r.Aliases == nil {
		r.Aliases = []string{}
	}
	for _, f := range []struct {
		field string
		dst   *time.Time
	}{{"created_at", &r.CreatedAt}, {"updated_at", &r.UpdatedAt}} {
		ns, err := strconv.ParseInt(h[f.field], 10, 64)
		if err != nil {
			return Room{}, fmt.Errorf("store: room %q: bad %s %q", name, f.field, h[f.field])
		}
		*f.dst = time.Unix(0, ns).UTC()
	}
	return r, nil
}

// pinDigest is the key a PIN is stored under; "" for no PIN.
func pinDigest(pin string) string {
	if pin == "" {
		return ""
	}
	return pinDigest256(pin)
}

func pinDigest256(pin string) string {
	d := sha256.Sum256([]byte(pin))
	return hex.EncodeToString(d[:])
}

func boolArg(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
