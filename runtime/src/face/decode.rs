//! BlazeFace's output, decoded as MediaPipe's graph does: SSD anchors
//! (`SsdAnchorsCalculator`), box and keypoint decoding with sigmoid scores clipped at ±100
//! (`TensorsToDetectionsCalculator`), then WEIGHTED non-maximum suppression
//! (`NonMaxSuppressionCalculator`, intersection over union). Coordinates here are normalised to
//! the letterboxed tensor ([0, 1] across it).

/// Anchors per cell of the stride-8/16 grid (front) or 16/32 (back): 2 on the fine grid, 6 on
/// the coarse one (three layers of 2 sharing one stride).
pub(crate) const FINE_PER_CELL: usize = 2;
pub(crate) const COARSE_PER_CELL: usize = 6;
/// Boxes the model outputs: 16x16x2 + 8x8x6.
pub(crate) const NUM_BOXES: usize = 16 * 16 * FINE_PER_CELL + 8 * 8 * COARSE_PER_CELL;
/// Values per box: x, y, w, h, then 6 keypoints (x, y).
pub(crate) const NUM_COORDS: usize = 16;
const SCORE_CLIP: f32 = 100.0;

/// Anchor centres in tensor-normalised coordinates (fixed anchor size 1), MediaPipe's order:
/// per layer group, row by row, cell by cell, anchor by anchor. Front 128: strides 8, 16, 16, 16;
/// back 256: 16, 32, 32, 32 — both give a 16x16 and an 8x8 grid.
pub(crate) fn anchors() -> Vec<[f32; 2]> {
    let mut a = Vec::with_capacity(NUM_BOXES);
    for (grid, per_cell) in [(16usize, FINE_PER_CELL), (8, COARSE_PER_CELL)] {
        for y in 0..grid {
            for x in 0..grid {
                let c = [
                    (x as f32 + 0.5) / grid as f32,
                    (y as f32 + 0.5) / grid as f32,
                ];
                a.extend(std::iter::repeat_n(c, per_cell));
            }
        }
    }
    a
}

/// One decoded detection in tensor-normalised coordinates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct RawDetection {
    pub xmin: f32,
    pub ymin: f32,
    pub xmax: f32,
    pub ymax: f32,
    pub keypoints: [[f32; 2]; 6],
    pub score: f32,
}

impl RawDetection {
    fn area(&self) -> f32 {
        (self.xmax - self.xmin) * (self.ymax - self.ymin)
    }
}

/// MediaPipe's score: sigmoid of the logit clipped to ±100.
pub(crate) fn score(logit: f32) -> f32 {
    1.0 / (1.0 + (-logit.clamp(-SCORE_CLIP, SCORE_CLIP)).exp())
}

/// Decodes every box scoring at least `min_score`; `scores` has NUM_BOXES logits,
/// `boxes` NUM_BOXES x 16 regressors in pixels of the `input_size` tensor.
pub(crate) fn decode(
    scores: &[f32],
    boxes: &[f32],
    anchors: &[[f32; 2]],
    input_size: f32,
    min_score: f32,
) -> Vec<RawDetection> {
    let mut out = Vec::new();
    for (i, (&logit, a)) in scores.iter().zip(anchors).enumerate() {
        let s = score(logit);
        if s < min_score {
            continue;
        }
        let r = &boxes[i * NUM_COORDS..(i + 1) * NUM_COORDS];
        let cx = r[0] / input_size + a[0];
        let cy = r[1] / input_size + a[1];
        let w = r[2] / input_size;
        let h = r[3] / input_size;
        let d = RawDetection {
            xmin: cx - w / 2.0,
            ymin: cy - h / 2.0,
            xmax: cx + w / 2.0,
            ymax: cy + h / 2.0,
            keypoints: std::array::from_fn(|k| {
                [
                    r[4 + 2 * k] / input_size + a[0],
                    r[5 + 2 * k] / input_size + a[1],
                ]
            }),
            score: s,
        };
        // MediaPipe drops boxes of no or negative extent.
        if d.xmax > d.xmin && d.ymax > d.ymin {
            out.push(d);
        }
    }
    out
}

/// Intersection over union, 0 for boxes without a positive union (MediaPipe's
/// `OverlapSimilarity`).
pub(crate) fn iou(a: &RawDetection, b: &RawDetection) -> f32 {
    let w = a.xmax.min(b.xmax) - a.xmin.max(b.xmin);
    let h = a.ymax.min(b.ymax) - a.ymin.max(b.ymin);
    let inter = if w > 0.0 && h > 0.0 { w * h } else { 0.0 };
    let union = a.area() + b.area() - inter;
    if union > 0.0 {
        inter / union
    } else {
        0.0
    }
}

/// MediaPipe's weighted NMS: take the best remaining detection; every remaining detection
/// overlapping it by more than `threshold` (itself included) is merged into a score-weighted
/// mean of box corners and keypoints, keeping the best one's score; repeat. Best first.
pub(crate) fn weighted_nms(mut dets: Vec<RawDetection>, threshold: f32) -> Vec<RawDetection> {
    dets.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut out = Vec::new();
    while let Some(&best) = dets.first() {
        let (cands, rest): (Vec<_>, Vec<_>) =
            dets.into_iter().partition(|d| iou(d, &best) > threshold);
        let mut merged = best;
        if !cands.is_empty() {
            let total: f32 = cands.iter().map(|c| c.score).sum();
            let wsum = |f: &dyn Fn(&RawDetection) -> f32| {
                cands.iter().map(|c| f(c) * c.score).sum::<f32>() / total
            };
            merged.xmin = wsum(&|c| c.xmin);
            merged.ymin = wsum(&|c| c.ymin);
            merged.xmax = wsum(&|c| c.xmax);
            merged.ymax = wsum(&|c| c.ymax);
            for k in 0..6 {
                merged.keypoints[k][0] = wsum(&|c| c.keypoints[k][0]);
                merged.keypoints[k][1] = wsum(&|c| c.keypoints[k][1]);
            }
        }
        out.push(merged);
        if cands.is_empty() {
            // Nothing overlapped the best one, not even itself (a degenerate box): stop, as
            // MediaPipe does when an iteration removes nothing.
            break;
        }
        dets = rest;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_follow_mediapipe_layout() {
        let a = anchors();
        assert_eq!(a.len(), 896);
        assert_eq!(a[0], [0.5 / 16.0, 0.5 / 16.0]);
        assert_eq!(a[1], a[0]);
        assert_eq!(a[2], [1.5 / 16.0, 0.5 / 16.0]);
        assert_eq!(a[511], [15.5 / 16.0, 15.5 / 16.0]);
        assert_eq!(a[512], [0.5 / 8.0, 0.5 / 8.0]);
        assert_eq!(a[517], a[512]);
        assert_eq!(a[518], [1.5 / 8.0, 0.5 / 8.0]);
        assert_eq!(a[895], [7.5 / 8.0, 7.5 / 8.0]);
    }

    #[test]
    fn scores_are_clipped_sigmoids() {
        assert_eq!(score(0.0), 0.5);
        assert_eq!(score(1e30), score(100.0));
        assert_eq!(score(-1e30), score(-100.0));
        assert!((score(2.0) - 0.880_797).abs() < 1e-6);
    }

    #[test]
    fn decode_applies_anchor_and_scale() {
        let anchors = anchors();
        let mut scores = vec![-50.0f32; NUM_BOXES];
        let mut boxes = vec![0f32; NUM_BOXES * NUM_COORDS];
        scores[512] = 3.0;
        let r = &mut boxes[512 * 16..513 * 16];
        r[..4].copy_from_slice(&[12.8, -6.4, 32.0, 25.6]);
        r[4] = 1.28;
        r[5] = 2.56;
        let d = decode(&scores, &boxes, &anchors, 128.0, 0.5);
        assert_eq!(d.len(), 1);
        let d = d[0];
        let (cx, cy) = (0.0625 + 0.1, 0.0625 - 0.05);
        assert!((d.xmin - (cx - 0.125)).abs() < 1e-6 && (d.xmax - (cx + 0.125)).abs() < 1e-6);
        assert!((d.ymin - (cy - 0.1)).abs() < 1e-6 && (d.ymax - (cy + 0.1)).abs() < 1e-6);
        assert!((d.keypoints[0][0] - 0.0725).abs() < 1e-6);
        assert!((d.keypoints[0][1] - 0.0825).abs() < 1e-6);
        assert!((d.score - score(3.0)).abs() < 1e-7);
    }

    fn det(x: f32, y: f32, s: f32, score: f32) -> RawDetection {
        RawDetection {
            xmin: x,
            ymin: y,
            xmax: x + s,
            ymax: y + s,
            keypoints: [[x, y]; 6],
            score,
        }
    }

    #[test]
    fn weighted_nms_merges_overlaps_and_keeps_separate_faces() {
        let dets = vec![
            det(0.10, 0.10, 0.2, 0.6),
            det(0.12, 0.10, 0.2, 0.9),
            det(0.60, 0.60, 0.2, 0.7),
        ];
        let out = weighted_nms(dets, 0.3);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].score, 0.9);
        let want = (0.10 * 0.6 + 0.12 * 0.9) / 1.5;
        assert!((out[0].xmin - want).abs() < 1e-6, "{}", out[0].xmin);
        assert!((out[0].keypoints[3][0] - want).abs() < 1e-6);
        assert!((out[0].xmax - (want + 0.2)).abs() < 1e-6);
        assert_eq!(out[1], det(0.60, 0.60, 0.2, 0.7));
        // Overlap at or below the threshold is two faces.
        let out = weighted_nms(vec![det(0.0, 0.0, 0.2, 0.9), det(0.15, 0.0, 0.2, 0.8)], 0.3);
        assert_eq!(out.len(), 2);
    }
}
