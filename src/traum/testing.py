"""Test support: random-weight CLAP models saved in Hugging Face format, for tests and benchmarks.

Real CLAP weights cannot be downloaded everywhere (CI, air-gapped studios). A random-weight model
with the same architecture exercises the whole real loading and inference path: config, weights,
processor config, tokenizer. ``tiny=True`` builds a model small enough for unit tests; ``tiny=False``
builds the full-size ``ClapConfig()`` architecture for speed benchmarks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# A handful of sentences covering the words producers type, so the BPE vocabulary is not empty.
_CORPUS = [
    "dusty vinyl kick drum with a punchy transient",
    "bright analog pad in F minor, warm and wide",
    "snare clap hihat cymbal ride crash tom percussion loop break",
    "deep sub bass 808, wobbly synth lead, electric piano keys",
    "field recording of birds, wind, rain, water and footsteps",
    "spoken word vocal speech, numbers, a dog barking, a sheep",
    "noise sweep riser impact fx, glitchy, metallic, dark, airy",
]


def build_random_clap(directory: str | Path, *, tiny: bool = True, seed: int = 0) -> Path:
    """Save a random-weight CLAP (model, feature extractor, tokenizer) to ``directory``."""
    import torch
    from transformers import ClapConfig, ClapFeatureExtractor, ClapModel, ClapProcessor

    directory = Path(directory)
    torch.manual_seed(seed)
    tokenizer = _train_tokenizer(vocab_size=400 if tiny else 2000)
    config = _tiny_config(len(tokenizer)) if tiny else ClapConfig()
    if not tiny:
        text_config: Any = config.text_config
        text_config.vocab_size = max(text_config.vocab_size, len(tokenizer))
    model = ClapModel(config).eval()
    # The unfused laion checkpoints' preprocessing: random truncation (which Traum never triggers,
    # it windows long audio itself), repeat-padding, a 50 Hz–14 kHz slaney mel bank.
    extractor = ClapFeatureExtractor(truncation="rand_trunc", padding="repeatpad", frequency_min=50,
                                     frequency_max=14_000)
    model.save_pretrained(directory)
    ClapProcessor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(directory)
    return directory


def _tiny_config(vocab_size: int):
    from transformers import ClapAudioConfig, ClapConfig, ClapTextConfig

    text = ClapTextConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                          intermediate_size=64, max_position_embeddings=80, projection_dim=512)
    audio = ClapAudioConfig(patch_embeds_hidden_size=16, depths=[1, 1, 1, 1], num_attention_heads=[1, 1, 2, 2],
                            hidden_size=128, projection_dim=512, enable_fusion=False)
    return ClapConfig(text_config=text.to_dict(), audio_config=audio.to_dict(), projection_dim=512)


def _train_tokenizer(vocab_size: int):
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaTokenizerFast

    bpe = ByteLevelBPETokenizer()
    special = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    bpe.train_from_iterator(_CORPUS * 4, vocab_size=vocab_size, min_frequency=1, special_tokens=special)
    from tokenizers.processors import RobertaProcessing

    bpe.post_processor = RobertaProcessing(("</s>", bpe.token_to_id("</s>")), ("<s>", bpe.token_to_id("<s>")))
    return RobertaTokenizerFast(tokenizer_object=bpe._tokenizer, bos_token="<s>", eos_token="</s>",
                                unk_token="<unk>", pad_token="<pad>", mask_token="<mask>", sep_token="</s>",
                                cls_token="<s>", model_max_length=77)
