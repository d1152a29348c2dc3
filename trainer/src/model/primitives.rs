//! The building blocks both towers and the expert modules use: HF CLIP's activation, its
//! linear-layer initialisation and the attention-head reshapes.

use tch::nn;
use tch::Tensor;

/// QuickGELU, `x * sigmoid(1.702 x)` (OpenAI CLIP's activation).
pub fn quick_gelu(x: &Tensor) -> Tensor {
    x * (x * 1.702).sigmoid()
}

/// `[n, t, d]` → `[n, H, t, dh]`.
pub fn split_heads(x: &Tensor, heads: i64) -> Tensor {
    let (n, t, d) = x.size3().expect("split_heads: [n, t, d]");
    x.view([n, t, heads, d / heads]).transpose(1, 2)
}

/// `[n, H, t, dh]` → `[n, t, H·dh]`.
pub fn merge_heads(x: &Tensor) -> Tensor {
    let (n, h, t, dh) = x.size4().expect("merge_heads: [n, H, t, dh]");
    x.transpose(1, 2).reshape([n, t, h * dh])
}

/// A linear layer with HF CLIP's initialisation: weight ~ N(0, std), bias zero.
pub(crate) fn linear(p: nn::Path, din: i64, dout: i64, std: f64, bias: bool) -> nn::Linear {
    nn::linear(
        p,
        din,
        dout,
        nn::LinearConfig {
            ws_init: nn::Init::Randn {
                mean: 0.0,
                stdev: std,
            },
            bs_init: Some(nn::Init::Const(0.0)),
            bias,
        },
    )
}
