"""The TRL export trains: `GRPOTrainer` takes the exported dataset and runs a step with a tiny random VLM.

The model is the project's tiny LLaVA (CLIP vision + Qwen2 text, random init, tokenizer trained in-process), so
nothing is downloaded. The checks: the prompts' image parts reach the vision tower as pixels, and the reward
function gets the exported columns (`answer`, provenance) as keyword arguments.
"""

from __future__ import annotations

import pytest

datasets = pytest.importorskip("datasets")
trl = pytest.importorskip("trl")

from transformers import LlavaProcessor  # noqa: E402

from cadsynth.export import export  # noqa: E402
from cadsynth.local.vlm import TinyVLM, VLMSpec  # noqa: E402

# renders TRL's structured content: an image part becomes <image>, which LlavaProcessor expands to its tokens
CHAT_TEMPLATE = (
    "{% for m in messages %}{% if m['content'] is string %}{{ m['content'] }}{% else %}"
    "{% for p in m['content'] %}{% if p['type'] == 'image' %}<image>{% else %}{{ p['text'] }}{% endif %}"
    "{% endfor %}{% endif %}\n{% endfor %}"
)


def _image_processor(size: int):
    try:
        from transformers import CLIPImageProcessorPil as processor  # no torchvision needed
    except ImportError:
        from transformers import CLIPImageProcessor as processor
    return processor(size={"shortest_edge": size}, crop_size={"height": size, "width": size})


@pytest.mark.slow
def test_grpo_trainer_takes_the_trl_export_and_trains_a_step(run_dir, tmp_path):
    export(run_dir, "trl", tmp_path / "trl", val_share=0.3)
    datasets.disable_progress_bars()
    data = datasets.load_dataset(str(tmp_path / "trl"), cache_dir=str(tmp_path / "cache"))

    spec = VLMSpec()
    vlm = TinyVLM.build(spec, [row["prompt"][0]["content"][1]["text"] for row in data["train"]])
    processor = LlavaProcessor(image_processor=_image_processor(spec.image_size), tokenizer=vlm.tokenizer,
                               patch_size=spec.patch_size, vision_feature_select_strategy="default",
                               num_additional_image_tokens=1, chat_template=CHAT_TEMPLATE)
    pixels = []
    vision = next(m for name, m in vlm.model.named_modules() if name.endswith("vision_tower"))
    vision.register_forward_hook(lambda module, args, kwargs_out: pixels.append(args[0].shape) if args else None)
    rewarded = []

    def accuracy(completions, answer, seed_id, consensus, **kwargs):
        rewarded.extend(zip(answer, seed_id, consensus, strict=True))
        return [float(a in str(c)) for c, a in zip(completions, answer, strict=True)]

    args = trl.GRPOConfig(
        output_dir=str(tmp_path / "grpo"), per_device_train_batch_size=2, num_generations=2,
        max_completion_length=4, max_steps=1, use_cpu=True, bf16=False, report_to=[], save_strategy="no",
        logging_steps=1, dataloader_num_workers=0, seed=0,
    )
    trainer = trl.GRPOTrainer(model=vlm.model, reward_funcs=accuracy, args=args, train_dataset=data["train"],
                              eval_dataset=data["validation"], processing_class=processor)
    output = trainer.train()

    assert output.global_step == 1
    assert pixels and all(shape[1:] == (3, spec.image_size, spec.image_size) for shape in pixels)
    train_rows = {(r["answer"], r["seed_id"], r["consensus"]) for r in data["train"]}
    assert rewarded and set(rewarded) <= train_rows
