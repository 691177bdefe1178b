{{- define "koerier.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "koerier.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "koerier.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "koerier.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "koerier.selectorLabels" -}}
app.kubernetes.io/name: {{ include "koerier.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "koerier.config" -}}
{{- if .Values.configOverride -}}
{{- .Values.configOverride -}}
{{- else -}}
{{- .Files.Get "files/koerier.yaml" -}}
{{- end -}}
{{- end -}}

{{- define "koerier.rulesConfigMap" -}}
{{- default (printf "%s-rules" (include "koerier.fullname" .)) .Values.rules.existingConfigMap -}}
{{- end -}}

{{/*
SQLite files live on one pod's disk: a second replica would run its own bus
and store and split the work. Refuse to render instead.
*/}}
{{- define "koerier.validate" -}}
{{- if not (has .Values.bus.backend (list "amqp" "sqlite")) -}}
{{- fail (printf "bus.backend %q is not amqp or sqlite" .Values.bus.backend) -}}
{{- end -}}
{{- if not (has .Values.store.backend (list "redis" "sqlite")) -}}
{{- fail (printf "store.backend %q is not redis or sqlite" .Values.store.backend) -}}
{{- end -}}
{{- $shared := and (eq .Values.bus.backend "amqp") (eq .Values.store.backend "redis") -}}
{{- if and (gt (int .Values.replicaCount) 1) (not $shared) -}}
{{- fail (printf "replicaCount %d needs bus.backend=amqp and store.backend=redis (got %s/%s): the sqlite backends are for one replica" (int .Values.replicaCount) .Values.bus.backend .Values.store.backend) -}}
{{- end -}}
{{- if and .Values.autoscaling.enabled (not $shared) -}}
{{- fail "autoscaling.enabled needs bus.backend=amqp and store.backend=redis: the sqlite backends are for one replica" -}}
{{- end -}}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) -}}
{{- fail (printf "autoscaling.minReplicas %d is above autoscaling.maxReplicas %d" (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) -}}
{{- end -}}
{{- end -}}
