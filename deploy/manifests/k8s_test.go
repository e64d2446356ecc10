package manifests

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	ktypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/otlp-arrow/otlp-arrow/deploy/config"
)

// newObject returns an empty typed object for a manifest's apiVersion and
// kind; every kind the manifests use is listed, so an unexpected one fails.
func newObject(apiVersion, kind string) (any, error) {
	switch apiVersion + ", " + kind {
	case "v1, Namespace":
		return &corev1.Namespace{}, nil
	case "v1, Service":
		return &corev1.Service{}, nil
	case "v1, ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "v1, Secret":
		return &corev1.Secret{}, nil
	case "v1, PersistentVolumeClaim":
		return &corev1.PersistentVolumeClaim{}, nil
	case "apps/v1, Deployment":
		return &appsv1.Deployment{}, nil
	case "apps/v1, StatefulSet":
		return &appsv1.StatefulSet{}, nil
	case "policy/v1, PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	case "autoscaling/v2, HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}, nil
	}
	return nil, fmt.Errorf("unexpected kind %s %s", apiVersion, kind)
}

// decodeStrict decodes one YAML document into its typed Kubernetes object;
// unknown or duplicate fields are errors.
func decodeStrict(doc []byte) (any, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, err
	}
	obj, err := newObject(tm.APIVersion, tm.Kind)
	if err != nil {
		return nil, err
	}
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		return nil, fmt.Errorf("%s: %w", tm.Kind, err)
	}
	return obj, nil
}

// splitYAML returns the non-empty documents of a multi-document YAML file.
func splitYAML(data []byte) ([][]byte, error) {
	r := k8syaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := yaml.Unmarshal(doc, &m); err != nil {
			return nil, err
		}
		if len(m) > 0 {
			docs = append(docs, doc)
		}
	}
}

func k8sDir(t *testing.T) string {
	return filepath.Join(repoRoot(t), "deploy", "k8s")
}

// TestKustomizationFilesDecodeStrictly decodes every kustomization, every
// resource and patch file they name, and every generated config file.
func TestKustomizationFilesDecodeStrictly(t *testing.T) {
	dir := k8sDir(t)
	var kdirs []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "kustomization.yaml" {
			kdirs = append(kdirs, filepath.Dir(p))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(kdirs) < 3 {
		t.Fatalf("kustomizations found: %v, want base, components/forwarder, overlays/example", kdirs)
	}
	seen := map[string]bool{}
	for _, kd := range kdirs {
		data, err := os.ReadFile(filepath.Join(kd, "kustomization.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var k ktypes.Kustomization
		if err := yaml.UnmarshalStrict(data, &k); err != nil {
			t.Errorf("%s/kustomization.yaml: %v", kd, err)
			continue
		}
		var files []string
		for _, r := range k.Resources {
			if fi, err := os.Stat(filepath.Join(kd, r)); err == nil && !fi.IsDir() {
				files = append(files, r)
			}
		}
		for _, p := range k.Patches {
			if p.Path != "" {
				files = append(files, p.Path)
			}
		}
		for _, f := range files {
			p := filepath.Join(kd, f)
			seen[p] = true
			data, err := os.ReadFile(p)
			if err != nil {
				t.Errorf("%v", err)
				continue
			}
			docs, err := splitYAML(data)
			if err != nil || len(docs) == 0 {
				t.Errorf("%s: %d documents, %v", p, len(docs), err)
			}
			for i, doc := range docs {
				if _, err := decodeStrict(doc); err != nil {
					t.Errorf("%s (document %d): %v", p, i+1, err)
				}
			}
		}
		for _, g := range k.ConfigMapGenerator {
			for _, f := range g.FileSources {
				p := filepath.Join(kd, f)
				seen[p] = true
				data, err := os.ReadFile(p)
				if err != nil {
					t.Errorf("%v", err)
					continue
				}
				cfg := config.Default()
				if err := config.Parse(bytes.NewReader(data), &cfg); err != nil {
					t.Errorf("%s: %v", p, err)
				} else if err := cfg.Validate(); err != nil {
					t.Errorf("%s: %v", p, err)
				}
			}
		}
	}
	// No stray manifest that no kustomization uses.
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() != "kustomization.yaml" && !seen[p] {
			t.Errorf("%s is not used by any kustomization", p)
		}
		return err
	})
}

// built is the output of a kustomize build, decoded.
type built struct {
	objs         []any
	deployments  []*appsv1.Deployment
	statefulSets []*appsv1.StatefulSet
	services     []*corev1.Service
	configMaps   map[string]*corev1.ConfigMap
	pdbs         []*policyv1.PodDisruptionBudget
	hpas         []*autoscalingv2.HorizontalPodAutoscaler
}

func build(t *testing.T, dir string) *built {
	t.Helper()
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	b := &built{configMaps: map[string]*corev1.ConfigMap{}}
	for _, r := range m.Resources() {
		doc, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		obj, err := decodeStrict(doc)
		if err != nil {
			t.Errorf("built %s/%s: %v", r.GetKind(), r.GetName(), err)
			continue
		}
		b.objs = append(b.objs, obj)
		switch o := obj.(type) {
		case *appsv1.Deployment:
			b.deployments = append(b.deployments, o)
		case *appsv1.StatefulSet:
			b.statefulSets = append(b.statefulSets, o)
		case *corev1.Service:
			b.services = append(b.services, o)
		case *corev1.ConfigMap:
			b.configMaps[o.Name] = o
		case *policyv1.PodDisruptionBudget:
			b.pdbs = append(b.pdbs, o)
		case *autoscalingv2.HorizontalPodAutoscaler:
			b.hpas = append(b.hpas, o)
		}
	}
	return b
}

// workload is a Deployment or a StatefulSet.
type workload struct {
	kind, name string
	replicas   *int32
	template   corev1.PodTemplateSpec
	selector   *metav1.LabelSelector
	claims     []corev1.PersistentVolumeClaim
}

func (b *built) workloads() []workload {
	var ws []workload
	for _, d := range b.deployments {
		ws = append(ws, workload{"Deployment", d.Name, d.Spec.Replicas, d.Spec.Template, d.Spec.Selector, nil})
	}
	for _, s := range b.statefulSets {
		ws = append(ws, workload{"StatefulSet", s.Name, s.Spec.Replicas, s.Spec.Template, s.Spec.Selector, s.Spec.VolumeClaimTemplates})
	}
	return ws
}

func TestKustomizeBase(t *testing.T) {
	b := build(t, filepath.Join(k8sDir(t), "base"))
	checkBuilt(t, b, "otlp-arrow:latest", "")
	for _, w := range b.workloads() {
		if w.name == "otlp-arrow-forwarder" {
			t.Errorf("the base has the forwarder; it is an optional component")
		}
	}
}

func TestKustomizeOverlayExample(t *testing.T) {
	b := build(t, filepath.Join(k8sDir(t), "overlays", "example"))
	checkBuilt(t, b, "registry.example.com/otlp-arrow:0.1.0", "otlp-arrow")
	var names []string
	for _, w := range b.workloads() {
		names = append(names, w.kind+"/"+w.name)
		if w.name == "otlp-arrow-writer" && (w.replicas == nil || *w.replicas != 3) {
			t.Errorf("writer replicas = %s, want 3 in the example", deref(w.replicas))
		}
	}
	slices.Sort(names)
	want := []string{
		"Deployment/otlp-arrow-forwarder", "Deployment/otlp-arrow-ingest-flight", "Deployment/otlp-arrow-ingest-grpc",
		"StatefulSet/otlp-arrow-bus", "StatefulSet/otlp-arrow-writer",
	}
	if !slices.Equal(names, want) {
		t.Errorf("workloads = %v, want %v", names, want)
	}
}

// checkBuilt checks a built kustomization: every workload, and the objects
// that refer to workloads. namespace, when set, must be on every object.
func checkBuilt(t *testing.T, b *built, wantImage, namespace string) {
	t.Helper()
	cmds := subcommands(t)
	img := parseDockerfile(t, filepath.Join(repoRoot(t), "deploy", "Dockerfile"))
	if namespace != "" {
		for _, o := range b.objs {
			if mo, ok := o.(metav1.Object); ok {
				if _, isNS := o.(*corev1.Namespace); !isNS && mo.GetNamespace() != namespace {
					t.Errorf("%s: namespace %q, want %q", mo.GetName(), mo.GetNamespace(), namespace)
				}
			}
		}
	}
	// Ports each workload's containers serve, by name and number.
	served := map[string]map[string]int32{}
	cfgs := map[string]config.Config{} // by workload/container
	for _, w := range b.workloads() {
		where := w.kind + "/" + w.name
		spec := w.template.Spec
		sel, err := metav1.LabelSelectorAsSelector(w.selector)
		if err != nil || !sel.Matches(labels.Set(w.template.Labels)) {
			t.Errorf("%s: selector %v does not match the pod labels %v", where, w.selector, w.template.Labels)
		}
		if g := spec.TerminationGracePeriodSeconds; g == nil || *g <= drainSeconds {
			t.Errorf("%s: terminationGracePeriodSeconds = %s, want > %d (the drain)", where, deref(g), drainSeconds)
		}
		if sc := spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
			t.Errorf("%s: pod securityContext.runAsNonRoot is not true", where)
		}
		if len(w.claims) > 0 && (spec.SecurityContext == nil || spec.SecurityContext.FSGroup == nil) {
			t.Errorf("%s: persistent volumes but no fsGroup: the non-root user cannot write them", where)
		}
		served[w.name] = map[string]int32{}
		for _, c := range spec.Containers {
			cw := where + "/" + c.Name
			cfg := checkContainer(t, cw, b, w, c, cmds, img, wantImage)
			cfgs[w.name+"/"+c.Name] = cfg
			for _, p := range c.Ports {
				served[w.name][p.Name] = p.ContainerPort
				served[w.name][strconv.Itoa(int(p.ContainerPort))] = p.ContainerPort
			}
		}
		// A PodDisruptionBudget per workload.
		n := 0
		for _, pdb := range b.pdbs {
			if s, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector); err == nil && s.Matches(labels.Set(w.template.Labels)) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: %d PodDisruptionBudgets select it, want 1", where, n)
		}
	}

	// Services: each selects a workload and targets ports it serves; the
	// ingest ports are reachable.
	servicePorts := map[int32]bool{}
	for _, s := range b.services {
		var target string
		for _, w := range b.workloads() {
			if len(s.Spec.Selector) > 0 && labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(w.template.Labels)) {
				target = w.name
			}
		}
		if target == "" {
			t.Errorf("Service/%s selects no workload", s.Name)
			continue
		}
		for _, p := range s.Spec.Ports {
			servicePorts[p.Port] = true
			tp := p.TargetPort
			if tp.Type == intstr.Int && tp.IntVal == 0 {
				tp = intstr.FromInt32(p.Port)
			}
			if _, ok := served[target][tp.String()]; !ok {
				t.Errorf("Service/%s port %d targets %s, which %s does not serve", s.Name, p.Port, tp.String(), target)
			}
		}
	}
	grpcCfg, flightCfg := cfgs["otlp-arrow-ingest-grpc/ingest-grpc"], cfgs["otlp-arrow-ingest-flight/ingest-flight"]
	for _, p := range []int{port(t, "grpc", grpcCfg.Ingest.GRPCAddr), port(t, "http", grpcCfg.Ingest.HTTPAddr), port(t, "flight", flightCfg.Flight.Addr)} {
		if !servicePorts[int32(p)] {
			t.Errorf("no Service offers port %d", p)
		}
		if served["otlp-arrow-ingest-grpc"][strconv.Itoa(p)] == 0 && served["otlp-arrow-ingest-flight"][strconv.Itoa(p)] == 0 {
			t.Errorf("no ingest container serves port %d", p)
		}
	}

	// The ingest stages autoscale.
	for _, name := range []string{"otlp-arrow-ingest-grpc", "otlp-arrow-ingest-flight"} {
		n := 0
		for _, h := range b.hpas {
			ref := h.Spec.ScaleTargetRef
			if ref.Kind == "Deployment" && ref.Name == name && ref.APIVersion == "apps/v1" {
				n++
				if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 2 || h.Spec.MaxReplicas < *h.Spec.MinReplicas {
					t.Errorf("HPA/%s: replicas %s..%d, want at least 2", h.Name, deref(h.Spec.MinReplicas), h.Spec.MaxReplicas)
				}
			}
		}
		if n != 1 {
			t.Errorf("%s: %d HorizontalPodAutoscalers, want 1", name, n)
		}
	}
	for _, d := range b.deployments {
		for _, h := range b.hpas {
			if h.Spec.ScaleTargetRef.Name == d.Name && d.Spec.Replicas != nil {
				t.Errorf("Deployment/%s sets replicas although an HPA owns them", d.Name)
			}
		}
	}

	checkBus(t, b, cfgs)
	checkWriter(t, b, cfgs)

	// Every stage but the bus reaches the bus through a Service.
	for key, cfg := range cfgs {
		if strings.HasPrefix(key, "otlp-arrow-bus/") {
			continue
		}
		u, err := url.Parse(cfg.Bus.URL)
		if err != nil || u.Scheme != "nats" {
			t.Errorf("%s: bus.url %q, want nats://SERVICE:PORT", key, cfg.Bus.URL)
			continue
		}
		ok := false
		for _, s := range b.services {
			for _, p := range s.Spec.Ports {
				if s.Name == u.Hostname() && strconv.Itoa(int(p.Port)) == u.Port() {
					ok = true
				}
			}
		}
		if !ok {
			t.Errorf("%s: bus.url %s names no Service port", key, cfg.Bus.URL)
		}
	}
}

// checkContainer checks one container and returns its configuration: the
// mounted --config file with the image's and the container's environment.
func checkContainer(t *testing.T, where string, b *built, w workload, c corev1.Container, cmds map[string]bool, img image, wantImage string) config.Config {
	t.Helper()
	if c.Image != wantImage {
		t.Errorf("%s: image %q, want %q", where, c.Image, wantImage)
	}
	if len(c.Command) != 0 {
		t.Errorf("%s: command %v overrides the image's entrypoint; use args", where, c.Command)
	}
	checkArgs(t, where, cmds, c.Args)
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("%s: want securityContext readOnlyRootFilesystem true, allowPrivilegeEscalation false", where)
	}
	for _, rl := range []corev1.ResourceList{c.Resources.Requests, c.Resources.Limits} {
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if q, ok := rl[r]; !ok || q.IsZero() {
				t.Errorf("%s: resources %s: want requests and limits", where, r)
			}
		}
	}

	// The configuration: --config FILE from a mounted ConfigMap.
	cfg := config.Default()
	i := slices.Index(c.Args, "--config")
	if i < 0 || i+1 >= len(c.Args) {
		t.Errorf("%s: args %v, want --config FILE", where, c.Args)
	} else {
		cfg = mountedConfig(t, where, b, w, c, c.Args[i+1])
	}
	env := map[string]string{}
	for k, v := range img.env {
		env[k] = v
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil:
			env[e.Name] = w.name + "-0" // metadata.name of the first pod
		case e.ValueFrom != nil:
			t.Errorf("%s: env %s from %v: only literal values and field refs are expected", where, e.Name, e.ValueFrom)
		default:
			env[e.Name] = e.Value
		}
	}
	cfg = applyEnv(t, where, cfg, env)

	// Probes on the admin server.
	admin := int32(port(t, where, cfg.Admin.Addr))
	probe := func(kind string, p *corev1.Probe, path string) {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s: no HTTP %s probe", where, kind)
			return
		}
		if p.HTTPGet.Path != path {
			t.Errorf("%s: %s probe path %q, want %q", where, kind, p.HTTPGet.Path, path)
		}
		got := p.HTTPGet.Port.IntVal
		if p.HTTPGet.Port.Type == intstr.String {
			got = 0
			for _, cp := range c.Ports {
				if cp.Name == p.HTTPGet.Port.StrVal {
					got = cp.ContainerPort
				}
			}
		}
		if got != admin {
			t.Errorf("%s: %s probe on port %s (%d), want the admin port %d", where, kind, p.HTTPGet.Port.String(), got, admin)
		}
	}
	probe("readiness", c.ReadinessProbe, "/readyz")
	probe("liveness", c.LivenessProbe, "/healthz")
	if admin == 8080 {
		return cfg
	}
	// A second container in a pod moves its admin port off 8080; the
	// others keep the default the manifests and docs promise.
	if len(w.template.Spec.Containers) < 2 || c.Name == w.template.Spec.Containers[0].Name {
		t.Errorf("%s: admin port %d, want 8080", where, admin)
	}
	return cfg
}

// mountedConfig reads file from the ConfigMap volume mounted at its
// directory and parses it strictly.
func mountedConfig(t *testing.T, where string, b *built, w workload, c corev1.Container, file string) config.Config {
	t.Helper()
	cfg := config.Default()
	var volName string
	for _, m := range c.VolumeMounts {
		if m.MountPath == path.Dir(file) {
			volName = m.Name
		}
	}
	var cmName string
	for _, v := range w.template.Spec.Volumes {
		if v.Name == volName && v.ConfigMap != nil {
			cmName = v.ConfigMap.Name
		}
	}
	cm := b.configMaps[cmName]
	if cm == nil {
		t.Errorf("%s: --config %s: no ConfigMap mounted at %s (volume %q, ConfigMap %q)", where, file, path.Dir(file), volName, cmName)
		return cfg
	}
	data, ok := cm.Data[path.Base(file)]
	if !ok {
		t.Errorf("%s: ConfigMap %s has no key %s", where, cmName, path.Base(file))
		return cfg
	}
	if err := config.Parse(strings.NewReader(data), &cfg); err != nil {
		t.Errorf("%s: %s: %v", where, file, err)
	}
	return cfg
}

// deref formats an optional number.
func deref[T int32 | int64](p *T) string {
	if p == nil {
		return "unset"
	}
	return strconv.FormatInt(int64(*p), 10)
}

func findStatefulSet(b *built, name string) *appsv1.StatefulSet {
	for _, s := range b.statefulSets {
		if s.Name == name {
			return s
		}
	}
	return nil
}

func envOf(c corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

func fromPodName(e *corev1.EnvVar) bool {
	return e != nil && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name"
}

// mountedClaim wants a volumeClaimTemplate of s mounted at dir in c.
func mountedClaim(t *testing.T, s *appsv1.StatefulSet, c corev1.Container, dir string) {
	t.Helper()
	for _, m := range c.VolumeMounts {
		if m.MountPath != dir {
			continue
		}
		for _, pvc := range s.Spec.VolumeClaimTemplates {
			if pvc.Name == m.Name {
				if _, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; !ok {
					t.Errorf("StatefulSet/%s: claim %s requests no storage", s.Name, pvc.Name)
				}
				return
			}
		}
	}
	t.Errorf("StatefulSet/%s/%s: no volumeClaimTemplate mounted at %s", s.Name, c.Name, dir)
}

// checkBus: a 3-node cluster with routes to every node.
func checkBus(t *testing.T, b *built, cfgs map[string]config.Config) {
	t.Helper()
	s := findStatefulSet(b, "otlp-arrow-bus")
	if s == nil {
		t.Error("no StatefulSet otlp-arrow-bus")
		return
	}
	if s.Spec.Replicas == nil || *s.Spec.Replicas != 3 {
		t.Errorf("bus replicas = %s, want 3", deref(s.Spec.Replicas))
	}
	if s.Spec.PodManagementPolicy != appsv1.ParallelPodManagement {
		t.Errorf("bus podManagementPolicy = %q, want Parallel (the nodes must meet to become ready)", s.Spec.PodManagementPolicy)
	}
	var headless *corev1.Service
	for _, svc := range b.services {
		if svc.Name == s.Spec.ServiceName {
			headless = svc
		}
	}
	if headless == nil || headless.Spec.ClusterIP != corev1.ClusterIPNone || !headless.Spec.PublishNotReadyAddresses {
		t.Errorf("bus serviceName %q: want a headless Service publishing not-ready addresses", s.Spec.ServiceName)
	}
	c := s.Spec.Template.Spec.Containers[0]
	cfg := cfgs[s.Name+"/"+c.Name]
	if c.Args[0] != "bus" {
		t.Errorf("bus container runs %v", c.Args)
	}
	mountedClaim(t, s, c, cfg.DataDir)
	if !fromPodName(envOf(c, "OTLP_NATS_SERVER_NAME")) {
		t.Error("bus: OTLP_NATS_SERVER_NAME must come from the pod name")
	}
	if e := envOf(c, "OTLP_NATS_CLUSTER_PORT"); e == nil || e.Value != strconv.Itoa(natsClusterPort) {
		t.Errorf("bus: OTLP_NATS_CLUSTER_PORT = %v, want %d", e, natsClusterPort)
	}
	var want []string
	for i := range 3 {
		want = append(want, fmt.Sprintf("nats-route://%s-%d.%s:%d", s.Name, i, s.Spec.ServiceName, natsClusterPort))
	}
	if e := envOf(c, "OTLP_NATS_ROUTES"); e == nil || e.Value != strings.Join(want, ",") {
		t.Errorf("bus: OTLP_NATS_ROUTES = %v, want %s", e, strings.Join(want, ","))
	}
	if e := envOf(c, "OTLP_STREAM_REPLICAS"); e == nil || e.Value != "3" {
		t.Errorf("bus: OTLP_STREAM_REPLICAS = %v, want 3", e)
	}
	if e := envOf(c, "OTLP_NATS_CLUSTER_NAME"); e == nil || e.Value == "" {
		t.Error("bus: no OTLP_NATS_CLUSTER_NAME")
	}
	ports := map[int32]bool{}
	for _, p := range c.Ports {
		ports[p.ContainerPort] = true
	}
	if !ports[int32(cfg.Bus.Port)] || !ports[natsClusterPort] {
		t.Errorf("bus container ports %v, want %d and %d", c.Ports, cfg.Bus.Port, natsClusterPort)
	}
	// Every stage declares the streams: all must agree on the replicas.
	for key, c := range cfgs {
		if c.Bus.Replicas != 3 {
			t.Errorf("%s: bus.stream_replicas = %d, want 3 like the cluster", key, c.Bus.Replicas)
		}
	}
}

// checkWriter: stable writer ids (the pod names) and a volume per pod.
func checkWriter(t *testing.T, b *built, cfgs map[string]config.Config) {
	t.Helper()
	s := findStatefulSet(b, "otlp-arrow-writer")
	if s == nil {
		t.Error("no StatefulSet otlp-arrow-writer")
		return
	}
	for _, c := range s.Spec.Template.Spec.Containers {
		cfg := cfgs[s.Name+"/"+c.Name]
		mountedClaim(t, s, c, cfg.OutputDir)
		if c.Args[0] == "writer" && !fromPodName(envOf(c, "OTLP_WRITER_ID")) {
			t.Error("writer: OTLP_WRITER_ID must come from the pod name (stable across restarts)")
		}
	}
}
