package manifests

import (
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// The dashboard component: a Deployment reading the shared output claim
// read-only, with its token from a Secret, and the writers moved onto that
// claim.
func TestKustomizeDashboardComponent(t *testing.T) {
	dir := t.TempDir()
	rel := func(p string) string {
		r, err := filepath.Rel(dir, filepath.Join(k8sDir(t), p))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	kust := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - " +
		rel("base") + "\ncomponents:\n  - " + rel("components/dashboard") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(kust), 0o644); err != nil {
		t.Fatal(err)
	}
	b := build(t, dir)
	var found bool
	for _, d := range b.deployments {
		if d.Name != "otlp-arrow-dashboard" {
			continue
		}
		found = true
		pod := d.Spec.Template.Spec
		c := pod.Containers[0]
		if c.Args[0] != "dashboard" {
			t.Errorf("dashboard args %v", c.Args)
		}
		token := false
		for _, e := range c.Env {
			if e.Name == "OTLP_DASHBOARD_TOKEN" && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil &&
				e.ValueFrom.SecretKeyRef.Name == "otlp-arrow-dashboard" {
				token = true
			}
		}
		if !token {
			t.Error("the dashboard's token does not come from the Secret otlp-arrow-dashboard")
		}
		for _, m := range c.VolumeMounts {
			if m.Name == "output" && !m.ReadOnly {
				t.Error("the dashboard mounts the output read-write")
			}
		}
		if !hasClaim(pod.Volumes, "otlp-arrow-output") {
			t.Error("the dashboard does not mount the shared claim")
		}
	}
	if !found {
		t.Fatal("no Deployment otlp-arrow-dashboard")
	}
	for _, s := range b.statefulSets {
		if s.Name != "otlp-arrow-writer" {
			continue
		}
		if len(s.Spec.VolumeClaimTemplates) != 0 || !hasClaim(s.Spec.Template.Spec.Volumes, "otlp-arrow-output") {
			t.Errorf("writers not on the shared claim: %d claim templates", len(s.Spec.VolumeClaimTemplates))
		}
	}
}

func hasClaim(vols []corev1.Volume, claim string) bool {
	for _, v := range vols {
		if v.Name == "output" && v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == claim {
			return true
		}
	}
	return false
}
