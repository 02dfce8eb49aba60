"""Offline model building: exports of the frozen trunks and heads into resources/model/."""
