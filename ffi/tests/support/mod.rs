//! Test support shared by the C ABI driver and the fuzz target: a tiny valid libmoae model
//! (hand-encoded ONNX protobuf, so no exporter is needed) and deterministic test images.
#![allow(dead_code)]

use moae_onnx::meta::{
    ModelMeta, CLASSES, FORMAT_VERSION, INPUT_PIXELS, OUTPUT_ATTACK_SCORE, OUTPUT_LOGITS,
};

/// Side of the tiny model's square input.
pub const INPUT_SIZE: u32 = 16;

/// Minimal protobuf writer: just the wire types ONNX needs.
#[derive(Default)]
struct Pb(Vec<u8>);

impl Pb {
    fn varint(&mut self, mut v: u64) -> &mut Self {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.0.push(b);
                return self;
            }
            self.0.push(b | 0x80);
        }
    }
    fn int(&mut self, field: u32, v: i64) -> &mut Self {
        self.varint((field as u64) << 3).varint(v as u64)
    }
    fn bytes(&mut self, field: u32, b: &[u8]) -> &mut Self {
        self.varint(((field as u64) << 3) | 2)
            .varint(b.len() as u64);
        self.0.extend_from_slice(b);
        self
    }
    fn str(&mut self, field: u32, s: &str) -> &mut Self {
        self.bytes(field, s.as_bytes())
    }
    fn msg(&mut self, field: u32, m: &Pb) -> &mut Self {
        self.bytes(field, &m.0)
    }
}

const FLOAT: i64 = 1;
const INT64: i64 = 7;

fn tensor(name: &str, dims: &[i64], data_type: i64, raw: Vec<u8>) -> Pb {
    let mut t = Pb::default();
    for &d in dims {
        t.int(1, d);
    }
    t.int(2, data_type).str(8, name).bytes(9, &raw);
    t
}

/// ValueInfoProto of a float tensor; `None` dims are the symbolic batch "N".
fn value_info(name: &str, dims: &[Option<i64>]) -> Pb {
    let mut shape = Pb::default();
    for d in dims {
        let mut dim = Pb::default();
        match d {
            Some(v) => dim.int(1, *v),
            None => dim.str(2, "N"),
        };
        shape.msg(1, &dim);
    }
    let mut tt = Pb::default();
    tt.int(1, FLOAT).msg(2, &shape);
    let mut ty = Pb::default();
    ty.msg(1, &tt);
    let mut vi = Pb::default();
    vi.str(1, name).msg(2, &ty);
    vi
}

fn node(op: &str, inputs: &[&str], outputs: &[&str], int_attrs: &[(&str, i64)]) -> Pb {
    let mut n = Pb::default();
    for i in inputs {
        n.str(1, i);
    }
    for o in outputs {
        n.str(2, o);
    }
    n.str(3, &format!("{op}_{}", outputs[0])).str(4, op);
    for (name, v) in int_attrs {
        let mut a = Pb::default();
        a.str(1, name).int(3, *v).int(20, 2); // type INT
        n.msg(5, &a);
    }
    n
}

/// Deterministic pseudo-random numbers (xorshift), no external crate needed.
pub struct Rng(u64);
impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u32(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 32) as u32
    }
    pub fn unit(&mut self) -> f32 {
        self.next_u32() as f32 / u32::MAX as f32
    }
}

pub fn tiny_meta(threshold: f32) -> ModelMeta {
    ModelMeta {
        format_version: FORMAT_VERSION,
        config_json: "{\"preset\":\"ffi-test\"}".into(),
        preset: "ffi-test".into(),
        variant: "linear".into(),
        input_size: INPUT_SIZE,
        mean: [0.48145466, 0.4578275, 0.40821073],
        std: [0.268_629_5, 0.261_302_6, 0.275_777_1],
        classes: CLASSES.iter().map(|s| s.to_string()).collect(),
        threshold,
        threshold_calibrated: true,
        precision: "fp32".into(),
        checkpoint_sha256: "00".repeat(32),
        producer: "moae-ffi tests".into(),
    }
}

/// A linear classifier over all pixels: logits = flatten(x) W + b, attack = softmax[:, 1].
/// Every pixel matters, so crops, rotations and formats show up in the scores.
pub fn tiny_model() -> Vec<u8> {
    let s = INPUT_SIZE as i64;
    let features = 3 * s * s;
    let mut rng = Rng::new(7);
    let w: Vec<u8> = (0..features * 2)
        .flat_map(|_| ((rng.unit() - 0.5) * 0.1).to_le_bytes())
        .collect();
    let b: Vec<u8> = [0.1f32, -0.1]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let mut g = Pb::default();
    g.msg(
        1,
        &node("Flatten", &[INPUT_PIXELS], &["flat"], &[("axis", 1)]),
    )
    .msg(1, &node("MatMul", &["flat", "W"], &["mm"], &[]))
    .msg(1, &node("Add", &["mm", "B"], &[OUTPUT_LOGITS], &[]))
    .msg(
        1,
        &node("Softmax", &[OUTPUT_LOGITS], &["probs"], &[("axis", 1)]),
    )
    .msg(
        1,
        &node(
            "Gather",
            &["probs", "one"],
            &[OUTPUT_ATTACK_SCORE],
            &[("axis", 1)],
        ),
    )
    .str(2, "moae_ffi_tiny")
    .msg(5, &tensor("W", &[features, 2], FLOAT, w))
    .msg(5, &tensor("B", &[2], FLOAT, b))
    .msg(5, &tensor("one", &[], INT64, 1i64.to_le_bytes().to_vec()))
    .msg(
        11,
        &value_info(INPUT_PIXELS, &[None, Some(3), Some(s), Some(s)]),
    )
    .msg(12, &value_info(OUTPUT_LOGITS, &[None, Some(2)]))
    .msg(12, &value_info(OUTPUT_ATTACK_SCORE, &[None]));
    let mut opset = Pb::default();
    opset.str(1, "").int(2, 13);
    let mut m = Pb::default();
    m.int(1, 8)
        .str(2, "moae-ffi-tests")
        .msg(7, &g)
        .msg(8, &opset);
    for (k, v) in tiny_meta(0.5).to_props() {
        let mut e = Pb::default();
        e.str(1, &k).str(2, &v);
        m.msg(14, &e);
    }
    m.0
}

/// A W x H packed RGB test image: smooth gradients plus seeded noise.
pub fn test_image(seed: u64, w: u32, h: u32) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let phase = (seed % 7) as f32;
    let mut out = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            for c in 0..3 {
                let base = 128.0
                    + 90.0 * ((x as f32 * 0.3 + y as f32 * 0.17 * (c + 1) as f32 + phase).sin());
                let v = base + (rng.unit() - 0.5) * 60.0;
                out.push(v.clamp(0.0, 255.0) as u8);
            }
        }
    }
    out
}
