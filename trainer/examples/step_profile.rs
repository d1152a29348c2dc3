//! Times one training step of a preset on CPU, split into forward, backward and Adam:
//! `cargo run -p moae-trainer --example step_profile -- small 32`.
use moae_trainer::model::config::{ModelConfig, Variant};
use moae_trainer::model::prompts::{class_embeddings, PromptSet};
use moae_trainer::model::MoaeClip;
use moae_trainer::train::losses::{total_loss, LossConfig};
use moae_trainer::train::optim::{Adam, AdamConfig};
use std::time::Instant;
use tch::{nn, Device, Kind, Tensor};

fn main() {
    let mut args = std::env::args().skip(1);
    let preset = args.next().unwrap_or_else(|| "small".into());
    let n: i64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(32);
    let cfg = ModelConfig::preset(&preset, Variant::Moae).expect("preset");
    let vs = nn::VarStore::new(Device::Cpu);
    let model = MoaeClip::new(&vs.root(), &cfg);
    let ids = PromptSet::default_byte_level(77).ids_tensor(Device::Cpu);
    let s = cfg.vision.image_size;
    let x = Tensor::randn([n, 3, s, s], (Kind::Float, Device::Cpu));
    let y = Tensor::from_slice(&(0..n).map(|i| i % 2).collect::<Vec<i64>>());
    let mut opt = Adam::new(
        &vs,
        AdamConfig::default(),
        moae_trainer::model::experts::is_expert_param,
    );
    println!("threads {}", tch::get_num_threads());
    for it in 0..4 {
        let t0 = Instant::now();
        let ce = class_embeddings(&model, &ids);
        let t_text = t0.elapsed();
        let img = model.encode_image(&x, true);
        let l = total_loss(&img, &ce, model.logit_scale(), &y, &LossConfig::default());
        let _ = l.total.double_value(&[]);
        let t1 = Instant::now();
        opt.zero_grad();
        l.total.backward();
        let t2 = Instant::now();
        opt.step();
        let t3 = Instant::now();
        println!(
            "it {it}: text {:?} forward {:?} backward {:?} adam {:?}",
            t_text,
            t1 - t0,
            t2 - t1,
            t3 - t2
        );
    }
}
