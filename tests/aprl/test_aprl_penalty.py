"""The APRL actor-loss penalty."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from robot_rl.aprl import AprlConfig, actor_penalty, aprl_penalty, penalty_active


def test_published_form() -> None:
    a = torch.tensor([[0.1, -0.2, 0.3], [0.1, -0.5, 0.0], [0.4, 0.4, 0.4]])
    got = aprl_penalty(a, 0.35, coef=12.0)
    torch.testing.assert_close(got, torch.tensor([0.0, 12.0 * 0.6, 12.0 * 1.2]))


def test_per_joint_and_per_sample_limits() -> None:
    a = torch.tensor([[0.3, 0.3], [0.3, 0.3]])
    per_joint = torch.tensor([0.5, 0.2])
    torch.testing.assert_close(aprl_penalty(a, per_joint, 1.0), torch.tensor([0.6, 0.6]))
    per_sample = torch.tensor([[0.5, 0.5], [0.5, 0.2]])
    torch.testing.assert_close(aprl_penalty(a, per_sample, 1.0), torch.tensor([0.0, 0.6]))


def test_gradient_pulls_toward_zero_only_when_outside() -> None:
    a = torch.tensor([[0.5, -0.1], [0.1, -0.1]], requires_grad=True)
    aprl_penalty(a, 0.35, 12.0).sum().backward()
    torch.testing.assert_close(a.grad, torch.tensor([[12.0, -12.0], [0.0, 0.0]]))


def test_hinge_form() -> None:
    a = torch.tensor([[0.5, -0.1], [-0.45, 0.0]], requires_grad=True)
    got = aprl_penalty(a, 0.35, 2.0, form="hinge")
    torch.testing.assert_close(got, torch.tensor([0.3, 0.2]))
    got.sum().backward()
    torch.testing.assert_close(a.grad, torch.tensor([[2.0, 0.0], [-2.0, 0.0]]))
    with pytest.raises(ValueError):
        aprl_penalty(a, 0.35, form="l2")


def test_actor_penalty_follows_config() -> None:
    a = torch.full((4, 3), 0.9)
    cfg = AprlConfig()
    assert penalty_active(cfg)
    torch.testing.assert_close(actor_penalty(cfg, a, 0.35), torch.full((4,), 12.0 * 2.7))
    assert not penalty_active(dataclasses.replace(cfg, action_mode="scale"))
    zeros = actor_penalty(dataclasses.replace(cfg, action_mode="scale"), a, 0.35)
    assert torch.equal(zeros, torch.zeros(4))
    assert penalty_active(dataclasses.replace(cfg, enabled=False))  # fixed limits keep it
