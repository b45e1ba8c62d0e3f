package check

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

// documents splits a multi-document YAML file.
func documents(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var docs [][]byte
	for _, d := range bytes.Split(data, []byte("\n---\n")) {
		if len(bytes.TrimSpace(d)) > 0 {
			docs = append(docs, d)
		}
	}
	return docs
}

type manifests struct {
	configMaps  []corev1.ConfigMap
	secrets     []corev1.Secret
	services    []corev1.Service
	deployments []appsv1.Deployment
	pdbs        []policyv1.PodDisruptionBudget
}

// decode decodes each document strictly into the type its kind names.
func decode(t *testing.T, m *manifests, path string) {
	t.Helper()
	for i, d := range documents(t, path) {
		var meta struct{ APIVersion, Kind string }
		if err := yaml.Unmarshal(d, &meta); err != nil {
			t.Fatalf("%s document %d: %v", path, i, err)
		}
		var err error
		switch meta.APIVersion + " " + meta.Kind {
		case "v1 ConfigMap":
			err = strictAppend(d, &m.configMaps)
		case "v1 Secret":
			err = strictAppend(d, &m.secrets)
		case "v1 Service":
			err = strictAppend(d, &m.services)
		case "apps/v1 Deployment":
			err = strictAppend(d, &m.deployments)
		case "policy/v1 PodDisruptionBudget":
			err = strictAppend(d, &m.pdbs)
		default:
			t.Fatalf("%s document %d: unexpected %s %s", path, i, meta.APIVersion, meta.Kind)
		}
		if err != nil {
			t.Fatalf("%s document %d (%s): %v", path, i, meta.Kind, err)
		}
	}
}

func TestManifests(t *testing.T) {
	var m manifests
	decode(t, &m, "../roombridge.yaml")
	decode(t, &m, "../secret.example.yaml")
	if len(m.deployments) != 1 || len(m.configMaps) != 1 || len(m.secrets) != 1 || len(m.services) != 1 || len(m.pdbs) != 1 {
		t.Fatalf("want one Deployment, ConfigMap, Secret, Service and PodDisruptionBudget; got %d %d %d %d %d",
			len(m.deployments), len(m.configMaps), len(m.secrets), len(m.services), len(m.pdbs))
	}
	d := m.deployments[0]
	pod := d.Spec.Template.Spec
	if !pod.HostNetwork || pod.DNSPolicy != corev1.DNSClusterFirstWithHostNet {
		t.Error("RTP needs hostNetwork with dnsPolicy ClusterFirstWithHostNet")
	}
	if sel := d.Spec.Selector.MatchLabels; !labelsMatch(sel, d.Spec.Template.Labels) ||
		!labelsMatch(m.services[0].Spec.Selector, d.Spec.Template.Labels) ||
		!labelsMatch(m.pdbs[0].Spec.Selector.MatchLabels, d.Spec.Template.Labels) {
		t.Error("the Deployment, Service and PodDisruptionBudget selectors do not match the pod labels")
	}
	if a := pod.Affinity; a == nil || a.PodAntiAffinity == nil || len(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) == 0 {
		t.Error("two host-network pods on one machine would fight over the SIP and RTP ports: need pod anti-affinity")
	}
	if sc := pod.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		t.Error("the pod must run as a non-root user")
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	c := pod.Containers[0]
	if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/readyz" {
		t.Error("readiness must be /readyz (503 while draining)")
	}
	if p := c.LivenessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" {
		t.Error("liveness must be /healthz (a draining node is alive)")
	}
	if l := c.Lifecycle; l == nil || l.PreStop == nil || l.PreStop.Exec == nil ||
		!slices.Contains(l.PreStop.Exec.Command, "drain") || !slices.Contains(l.PreStop.Exec.Command, "--wait") {
		t.Error("preStop must run roombridge drain --wait")
	}

	// Every secret comes from the Secret, and the Secret has every key.
	secretKeys := map[string]bool{}
	for k := range m.secrets[0].StringData {
		secretKeys[k] = true
	}
	for _, e := range c.Env {
		sensitive := strings.Contains(e.Name, "KEY") || strings.Contains(e.Name, "SECRET") || strings.Contains(e.Name, "PASSWORD")
		if sensitive && (e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil) {
			t.Errorf("%s must come from a Secret, not a literal", e.Name)
		}
		if ref := e.ValueFrom; ref != nil && ref.SecretKeyRef != nil {
			if ref.SecretKeyRef.Name != m.secrets[0].Name || !secretKeys[ref.SecretKeyRef.Key] {
				t.Errorf("%s refers to %s/%s, which secret.example.yaml does not define", e.Name, ref.SecretKeyRef.Name, ref.SecretKeyRef.Key)
			}
		}
	}

	// The grace period covers the drain the ConfigMap configures.
	cfg := m.configMaps[0].Data["roombridge.yaml"]
	var gw struct {
		Shutdown struct {
			Grace        string `json:"grace"`
			DrainTimeout string `json:"drain_timeout"`
		} `json:"shutdown"`
	}
	if err := yaml.Unmarshal([]byte(cfg), &gw); err != nil {
		t.Fatalf("ConfigMap roombridge.yaml: %v", err)
	}
	drain, err1 := time.ParseDuration(gw.Shutdown.DrainTimeout)
	grace, err2 := time.ParseDuration(gw.Shutdown.Grace)
	if err1 != nil || err2 != nil {
		t.Fatalf("shutdown keys %+v: %v %v", gw.Shutdown, err1, err2)
	}
	if g := pod.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second < drain+grace {
		t.Errorf("terminationGracePeriodSeconds %v is shorter than drain_timeout + grace (%v)", g, drain+grace)
	}
	if vol := findVolume(pod.Volumes, "config"); vol == nil || vol.ConfigMap == nil || vol.ConfigMap.Name != m.configMaps[0].Name {
		t.Error("the config volume must be the ConfigMap")
	}
}

// strictAppend decodes doc into a T, refusing unknown fields, and appends
// it to list.
func strictAppend[T any](doc []byte, list *[]T) error {
	var o T
	if err := yaml.UnmarshalStrict(doc, &o); err != nil {
		return err
	}
	*list = append(*list, o)
	return nil
}

func labelsMatch(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func findVolume(vs []corev1.Volume, name string) *corev1.Volume {
	for i := range vs {
		if vs[i].Name == name {
			return &vs[i]
		}
	}
	return nil
}
