package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/roombridge/roombridge/gateway/api"
	"github.com/roombridge/roombridge/gateway/sip"
	"github.com/roombridge/roombridge/gateway/store"
)

// Kinds of the shared records this file keeps (store.Records).
const (
	nodeKind      = "node"      // id: node.id → nodeRecord
	placementKind = "placement" // id: room → the node.id hosting it
)

// nodeHeartbeat is how often a node renews its records; they expire after
// nodeTTL, so a node that died drops out of GET /v1/nodes and frees its
// rooms' placement within seconds.
const (
	nodeHeartbeat = 2 * time.Second
	nodeTTL       = 3 * nodeHeartbeat
	// nodeFresh: a node whose record was renewed longer ago than this
	// missed a heartbeat (it may have died) and is sent no calls, though
	// its record lives on until nodeTTL. Nodes' clocks must agree to well
	// within a second (NTP).
	nodeFresh = nodeHeartbeat * 3 / 2
	// roomNodeTimeout bounds the placement lookup an INVITE waits for.
	roomNodeTimeout = 300 * time.Millisecond
)

// nodeRecord is what a node says of itself.
type nodeRecord struct {
	URL string   `json:"url"`
	SIP []string `json:"sip"`
	// SIPAddress is where calls are sent to this node (node.sip_address);
	// empty when it has none.
	SIPAddress string    `json:"sip_address,omitempty"`
	Draining   bool      `json:"draining"`
	Calls      int       `json:"calls"`
	Seen       time.Time `json:"seen"`
}

// presence keeps this node's record, and the placement of the rooms whose
// audio hub runs here, in the shared records: the ground for sending a
// room's direct callers to the node that hosts it (roomNode) and for GET
// /v1/nodes.
type presence struct {
	rec   store.Records
	id    string
	log   *slog.Logger
	place bool              // record placements (embedded SFU)
	info  func() nodeRecord // set before start
	// drained, set before start, is closed when this node begins to
	// drain: the record says so at once, so that no node sends it a call.
	drained <-chan struct{}

	mu      sync.Mutex
	active  map[string]int // room → hubs started minus stopped
	wake    chan struct{}
	cancel  context.CancelFunc
	done    chan struct{}
	claimed map[string]bool // owned by the run goroutine
	warned  map[string]bool
}

func newPresence(rec store.Records, id string, place bool, log *slog.Logger) *presence {
	return &presence{
		rec: rec, id: id, log: log, place: place,
		active: map[string]int{}, wake: make(chan struct{}, 1),
		claimed: map[string]bool{}, warned: map[string]bool{},
	}
}

// roomHub is the gateway's OnRoomHub: it only counts and wakes the run
// goroutine, so a call never waits for the store.
func (p *presence) roomHub(room string, active bool) {
	if !p.place {
		return
	}
	p.mu.Lock()
	if active {
		p.active[room]++
	} else if p.active[room]--; p.active[room] <= 0 {
		delete(p.active, room)
	}
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// start renews the records every nodeHeartbeat and on every room change.
func (p *presence) start() {
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan struct{})
	go func() {
		defer close(p.done)
		t := time.NewTicker(nodeHeartbeat)
		defer t.Stop()
		drained := p.drained
		for {
			p.sync(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case <-p.wake:
			case <-drained:
				drained = nil
			}
		}
	}()
}

// stop ends the heartbeat and removes this node's records.
func (p *presence) stop() {
	if p.cancel == nil {
		return
	}
	p.cancel()
	<-p.done
	p.cancel = nil
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for room := range p.claimed {
		_, _ = p.rec.DeleteRecord(ctx, placementKind, room, []byte(p.id))
	}
	if _, err := p.rec.DeleteRecord(ctx, nodeKind, p.id, nil); err != nil {
		p.log.Warn("removing this node's record", "err", err)
	}
}

func (p *presence) sync(ctx context.Context) {
	rec := p.info()
	rec.Seen = time.Now().UTC()
	body, _ := json.Marshal(rec)
	if err := p.rec.PutRecord(ctx, nodeKind, p.id, body, nodeTTL); err != nil && ctx.Err() == nil {
		p.log.Warn("node record not renewed", "err", err)
	}
	p.mu.Lock()
	active := slices.Collect(maps.Keys(p.active))
	p.mu.Unlock()
	for _, room := range active {
		ok, holder, err := p.rec.ClaimRecord(ctx, placementKind, room, []byte(p.id), nodeTTL)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				p.log.Warn("room placement not recorded", "room", room, "err", err)
			}
		case ok:
			p.claimed[room] = true
			delete(p.warned, room)
		case !p.warned[room]:
			// Callers of one room on two nodes of the embedded SFU are in
			// two rooms: they came here while the room's node was not to
			// be reached (or through the IVR, which is not redirected).
			p.log.Warn("room is hosted on another node too: its callers here do not hear those there",
				"room", room, "node", string(holder))
			p.warned[room] = true
		}
	}
	for room := range p.claimed {
		if !slices.Contains(active, room) {
			if _, err := p.rec.DeleteRecord(ctx, placementKind, room, []byte(p.id)); err == nil {
				delete(p.claimed, room)
			}
		}
	}
}

// roomNode is the gateway's RoomNode: the SIP address of the node hosting
// room, when that is another node that may take calls (see roomHolder) and
// has a node.sip_address.
func (p *presence) roomNode(ctx context.Context, room string) (string, bool) {
	r, ok := p.roomHolder(ctx, room)
	if !ok || r.SIPAddress == "" {
		return "", false
	}
	return r.SIPAddress, true
}

// roomURL is the web client's RoomURL: the base URL of the node hosting
// room, when that is another node that may take sessions and has a URL of
// its own (nodes sharing one public URL behind a balancer are not told
// apart, and the page stays).
func (p *presence) roomURL(ctx context.Context, room string) (string, bool) {
	r, ok := p.roomHolder(ctx, room)
	if !ok || r.URL == "" || r.URL == p.info().URL {
		return "", false
	}
	return r.URL, true
}

// roomHolder returns the record of the node holding room's placement when
// that is another node, alive (renewed within nodeFresh) and not
// draining. Any doubt (a store error, a slow store) keeps the caller here.
func (p *presence) roomHolder(ctx context.Context, room string) (nodeRecord, bool) {
	var r nodeRecord
	if !p.place {
		return r, false
	}
	ctx, cancel := context.WithTimeout(ctx, roomNodeTimeout)
	defer cancel()
	holder, err := p.rec.GetRecord(ctx, placementKind, room)
	if err != nil || string(holder) == p.id {
		return r, false
	}
	body, err := p.rec.GetRecord(ctx, nodeKind, string(holder))
	if err != nil || json.Unmarshal(body, &r) != nil || r.Draining || time.Since(r.Seen) > nodeFresh {
		return r, false
	}
	return r, true
}

// listNodes is GET /v1/nodes: every live node with the rooms it hosts.
func listNodes(rec store.Records) func(ctx context.Context) ([]api.NodeState, error) {
	return func(ctx context.Context) ([]api.NodeState, error) {
		nodes, err := rec.ListRecords(ctx, nodeKind)
		if err != nil {
			return nil, err
		}
		places, err := rec.ListRecords(ctx, placementKind)
		if err != nil {
			return nil, err
		}
		rooms := map[string][]string{}
		for room, node := range places {
			rooms[string(node)] = append(rooms[string(node)], room)
		}
		out := make([]api.NodeState, 0, len(nodes))
		for id, body := range nodes {
			var r nodeRecord
			if json.Unmarshal(body, &r) != nil {
				continue
			}
			rs := rooms[id]
			slices.Sort(rs)
			if rs == nil {
				rs = []string{}
			}
			out = append(out, api.NodeState{ID: id, URL: r.URL, SIP: r.SIP, Draining: r.Draining, Calls: r.Calls, Rooms: rs, Seen: r.Seen})
		}
		slices.SortFunc(out, func(a, b api.NodeState) int { return strings.Compare(a.ID, b.ID) })
		return out, nil
	}
}

// nodeSIPAddress is where other nodes send calls to this one: node.sip_address,
// else the first UDP or TCP listener bound to a specific address.
func nodeSIPAddress(configured string, addrs []sip.BoundAddr) string {
	if configured != "" {
		return configured
	}
	for _, a := range addrs {
		if a.Transport != "udp" && a.Transport != "tcp" {
			continue
		}
		ap, err := netip.ParseAddrPort(a.Addr.String())
		if err == nil && !ap.Addr().IsUnspecified() {
			return ap.String()
		}
	}
	return ""
}
