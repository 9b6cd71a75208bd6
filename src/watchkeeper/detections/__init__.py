"""Detections: rules (Sentinel analytics rules, Sigma) loaded as data, run on a schedule or per
ingested batch, raising alerts."""

from watchkeeper.detections.models import DetectionRule, EntityMapping, RuleKind, RuleLoadError

__all__ = ["DetectionRule", "EntityMapping", "RuleKind", "RuleLoadError"]
