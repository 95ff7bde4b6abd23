"""The circuit outline in the cars' own X/Y coordinates, for a live track map.

Outlines come as longitude/latitude (GeoJSON); cars report X/Y in FastF1's frame (tenths of a
metre, rotated and offset per circuit). ``project`` turns an outline into local metres, and
``align`` finds the similarity transform (scale, rotation, optional mirror, shift) that lays it
onto one lap of a car's X/Y trace: iterative closest point from a dozen starting angles, the
best mean distance wins. ``find_outline`` picks a circuit's outline out of a GeoJSON feature
collection and ``track_map`` builds the ``TrackMap`` payload from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from analytics.session import SessionLaps

EARTH_M = 6_371_000.0


def project(lon_lat: np.ndarray) -> np.ndarray:
    """Longitude/latitude (degrees) to metres east/north of the outline's centre."""
    lon, lat = np.radians(lon_lat[:, 0]), np.radians(lon_lat[:, 1])
    lat0 = lat.mean()
    return np.column_stack([(lon - lon.mean()) * np.cos(lat0) * EARTH_M, (lat - lat0) * EARTH_M])


def resample(points: np.ndarray, n: int = 400) -> np.ndarray:
    """``n`` points evenly spaced along a polyline."""
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    at = np.linspace(0.0, s[-1], n)
    return np.column_stack([np.interp(at, s, points[:, 0]), np.interp(at, s, points[:, 1])])


@dataclass
class Similarity:
    """``y = scale * R @ (M @ x) + shift`` (M mirrors the second axis when ``mirror``)."""

    scale: float
    rotation: np.ndarray
    shift: np.ndarray
    mirror: bool
    residual: float  # mean distance of the aligned outline to the trace, in trace units

    def apply(self, pts: np.ndarray) -> np.ndarray:
        p = pts * np.array([1.0, -1.0]) if self.mirror else pts
        return self.scale * p @ self.rotation.T + self.shift


def _procrustes(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    mu_s, mu_d = src.mean(0), dst.mean(0)
    a, b = src - mu_s, dst - mu_d
    u, sig, vt = np.linalg.svd(b.T @ a)
    d = np.sign(np.linalg.det(u @ vt))
    fix = np.diag([1.0, d])
    rot = u @ fix @ vt
    scale = float((sig * np.diag(fix)).sum() / (a**2).sum())
    return scale, rot, mu_d - scale * rot @ mu_s


def align(outline_m: np.ndarray, trace_xy: np.ndarray, iterations: int = 30) -> Similarity:
    """The transform laying ``outline_m`` (metres) onto ``trace_xy`` (one lap of X/Y)."""
    from scipy.spatial import cKDTree

    src_all = resample(outline_m, 300)
    dst = resample(trace_xy, 600)
    tree = cKDTree(dst)
    size_src = np.ptp(src_all, axis=0).max()
    size_dst = np.ptp(dst, axis=0).max()
    best: Similarity | None = None
    for mirror in (False, True):
        src = src_all * np.array([1.0, -1.0]) if mirror else src_all
        for angle in np.radians(np.arange(0, 360, 30)):
            rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
            scale = size_dst / size_src
            shift = dst.mean(0) - scale * rot @ src.mean(0)
            for _ in range(iterations):
                moved = scale * src @ rot.T + shift
                _, idx = tree.query(moved)
                scale, rot, shift = _procrustes(src, dst[idx])
            dist, _ = tree.query(scale * src @ rot.T + shift)
            residual = float(dist.mean())
            if best is None or residual < best.residual:
                best = Similarity(scale, rot, shift, mirror, residual)
    assert best is not None
    return best


def find_outline(features: list[dict[str, Any]], location: str) -> dict[str, Any] | None:
    """The GeoJSON feature of the circuit at ``location`` (e.g. 'Melbourne'), matched on the
    features' Location or Name."""
    from strategy.circuits import circuit_slug as fold

    want = fold(location)
    for f in features:
        props = f["properties"]
        if fold(props.get("Location", "")) == want or want in fold(props.get("Name", "")):
            return f
    return None


def track_map(
    s: SessionLaps, feature: dict[str, Any], trace_xy: np.ndarray | None
) -> dict[str, Any]:
    """The ``TrackMap`` payload: the outline of ``feature`` laid onto one lap of a car's X/Y
    (``trace_xy``, tenths of a metre) when given (``frame: car``), else in metres."""
    outline = project(np.array(feature["geometry"]["coordinates"], float))
    frame, residual = "metres", None
    if trace_xy is not None:
        sim = align(outline, trace_xy)
        outline, frame, residual = sim.apply(outline), "car", sim.residual / 10.0
    return {
        "session": s.session_key,
        "circuit": feature["properties"].get("Name"),
        "length_m": feature["properties"].get("length"),
        "frame": frame,
        "outline": np.round(outline, 1).tolist(),
        "residual_m": None if residual is None else round(residual, 2),
        "drivers": s.driver_refs(list(s.drivers["driver"])),
    }
