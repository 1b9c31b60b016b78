"""Distillation: students built from teacher blocks, the loss, and a student that exports like any classifier."""

from __future__ import annotations

import numpy as np
import pytest

import tfkit
from tfkit._keras import keras
from tfkit.errors import ConfigError
from tfkit.models.twin import hf_variables
from tfkit.optimize.distillation import DistillConfig, distill, student_from_teacher, teacher_layers


@pytest.fixture
def toy(trained_toy_data):
    return trained_toy_data


@pytest.fixture
def teacher(trained_toy):
    return trained_toy


def test_student_takes_the_chosen_teacher_blocks(teacher):
    student = student_from_teacher(teacher, [1])
    assert student.hf_config.num_hidden_layers == 1 and teacher.hf_config.num_hidden_layers == 2
    ours, theirs = hf_variables(student), hf_variables(teacher)
    for name, variable in ours.items():
        source = name.replace("encoder.layer.0.", "encoder.layer.1.")
        np.testing.assert_array_equal(variable.numpy(), theirs[source].numpy(), err_msg=name)
    assert teacher_layers(6, 3) == [0, 2, 4]
    with pytest.raises(ConfigError, match="1 to 2 layers"):
        student_from_teacher(teacher, 3)


def test_the_distillation_loss_falls_and_the_student_exports(teacher, toy, tiny_checkpoint, tmp_path):
    keras.utils.set_random_seed(0)
    small = tfkit.TextClassifier.from_hf_config(student_from_teacher(teacher, 1).hf_config, teacher.tokenizer,
                                                teacher.config)  # random weights: much to learn from the teacher
    # Every label flipped, and alpha=0: only the teacher's distribution can teach the student the task.
    flipped = tfkit.data.from_lists(list(toy.texts), [toy.labels[1 - t] for t in toy.targets],
                                    label_names=toy.labels)
    student = distill(teacher, flipped, student=small, alpha=0.0, epochs=10, learning_rate=3e-3, batch_size=8,
                      verbose=0, unlabeled=["good great fun", "awful dull sad"], output_dir=tmp_path / "distill")
    history = student.fit_record["history"]
    assert history["soft_loss"][-1] < 0.5 * history["soft_loss"][0], history["soft_loss"]
    assert student.fit_record["distillation"]["unlabeled_texts"] == 2
    assert list((tmp_path / "distill" / "logs").rglob("events.out.tfevents.*"))
    agreement = np.mean(student.predict_logits(list(toy.texts)).argmax(1)
                        == teacher.predict_logits(list(toy.texts)).argmax(1))
    assert agreement >= 0.9
    artifacts = tfkit.export(student, tmp_path / "export", formats=["tflite"], quantization=["dynamic_int8"],
                             train=toy, validation=toy, raw_text=False, mediapipe=False, log=lambda _: None)
    assert artifacts.variants[0].status == "accepted"


def test_alpha_one_is_plain_cross_entropy(teacher, toy):
    student = distill(teacher, toy, student=1, alpha=1.0, epochs=1, batch_size=8, verbose=0)
    history = student.fit_record["history"]
    np.testing.assert_allclose(history["loss"], history["hard_loss"], rtol=1e-6)


def test_validation_reports_the_distillation_losses(teacher, toy):
    student = distill(teacher, toy, student=1, alpha=0.3, validation=toy, epochs=1, batch_size=8, verbose=0)
    history = student.fit_record["history"]
    assert history["val_loss"][0] > 0 and history["val_soft_loss"][0] > 0 and history["val_hard_loss"][0] > 0
    np.testing.assert_allclose(history["val_loss"][0],
                               0.3 * history["val_hard_loss"][0] + 0.7 * history["val_soft_loss"][0], rtol=1e-5)


def test_bad_settings_name_the_argument(teacher, toy):
    with pytest.raises(ConfigError, match="temperature > 0"):
        DistillConfig(temperature=0)
    with pytest.raises(ConfigError, match="alpha"):
        distill(teacher, toy, alpha=1.5)
    other = tfkit.data.from_lists(["a", "b"], ["x", "y"])
    with pytest.raises(ConfigError, match="teacher's labels"):
        distill(teacher, other, student=1)
