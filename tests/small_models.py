"""The smallest random-weight configurations of the model families that need more than a constructor call to build
small, shared by the tests and the benchmarks: SlowFast's thin stems and X-CLIP with a tokenizer built offline."""

from __future__ import annotations

import transformers
from torch import nn


def slowfast_net(classes: int, frames: int = 8, head_activation=None) -> nn.Module:
    """PyTorchVideo's SlowFast with R50's stages and lateral fusions and thin stems: ``frames`` / 4 slow and
    ``frames`` fast frames (α = 4) at 64² (2 and 8 by default); its head ends in ``head_activation`` (none)."""
    from pytorchvideo.models.slowfast import create_slowfast

    return create_slowfast(model_num_class=classes, stem_dim_outs=(8, 1), head_activation=head_activation,
                           head_pool_kernel_sizes=((frames // 4, 2, 2), (frames, 2, 2)))


def small_xclip() -> nn.Module:
    """A small random-weight X-CLIP: 4 frames of 32² in 8² patches, cross-frame messages, one integration layer."""
    text = dict(vocab_size=16, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                max_position_embeddings=16)
    vision = dict(image_size=32, patch_size=8, num_frames=4, hidden_size=32, intermediate_size=64, num_hidden_layers=4,
                  num_attention_heads=2, mit_hidden_size=16, mit_intermediate_size=32, mit_num_hidden_layers=1,
                  mit_num_attention_heads=2)
    return transformers.XCLIPModel(transformers.XCLIPConfig(text_config=text, vision_config=vision, projection_dim=16,
                                                            prompt_layers=1, prompt_num_attention_heads=2)).eval()


def word_tokenizer(texts):
    """A real (if tiny) tokenizer over the texts' words, built offline: X-CLIP's own needs its vocabulary files.
    Underscores split words, as spaces do, and each text ends in an end token with the highest id, as CLIP's does:
    X-CLIP's text model pools a text at its highest token id. Without either, every class name of the model
    matrix ("action_0" … "action_4") was one unknown token, and every class got the same score."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    words = sorted({w for t in texts for w in t.replace("_", " ").split()})
    end = len(words) + 2
    tok = Tokenizer(models.WordLevel({"[PAD]": 0, "[UNK]": 1, **{w: i + 2 for i, w in enumerate(words)},
                                      "[EOS]": end}, unk_token="[UNK]"))
    # "apply_lipstick" is two words, as the vocabulary has them
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split("_", "removed"), pre_tokenizers.Whitespace()])
    tok.post_processor = processors.TemplateProcessing(single="$A [EOS]", special_tokens=[("[EOS]", end)])
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]")


def not_video_classifiers() -> dict:
    """Small random Hugging Face models that load_model cannot serve: a video encoder without a head, VideoMAE's
    pre-training model, an image classifier and a text classifier."""
    video = transformers.VideoMAEConfig(image_size=32, patch_size=8, num_frames=4, tubelet_size=2, hidden_size=32,
                                        num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)
    small = dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)
    return {"VideoMAEModel": transformers.VideoMAEModel(video),
            "VideoMAEForPreTraining": transformers.VideoMAEForPreTraining(video),
            "ViTForImageClassification": transformers.ViTForImageClassification(
                transformers.ViTConfig(image_size=32, patch_size=8, **small)),
            "BertForSequenceClassification": transformers.BertForSequenceClassification(
                transformers.BertConfig(vocab_size=64, max_position_embeddings=16, **small))}
