"""Trains MONAI's VoxelMorph with the presets' budget, for bench/registration_comparison.sh.

    PEERS_VENV/bin/python bench/peers/train_monai_voxelmorph.py SHMOAREG OUTPUT_FOLDER [CONFIG]

SHMOAREG: the built `shmoareg` (its `synthesize` writes the training subjects); CONFIG: the
training configuration (default models/training/colin27-synthetic-3mm.json). Writes
OUTPUT_FOLDER/model.pt (the weights and what they were trained with), log.csv and data/ (the
subjects). The same data and budget as the presets (scripts/train-models.sh):
- the configuration's synthetic Colin27 training subjects (40 of seed 1) and 4 validation
  subjects (only scored, at the start and the end, never used to choose anything);
- each subject centre-cropped to centre_crop_mm (144 x 180 x 144 mm) and put on the network
  grid (48 x 60 x 48, 3 mm) over the crop, intensities normalised, as the library's trainer
  (src/training/Trainer.cxx, prepareSubject);
- `iterations` (1,000) steps of batch 1, an ordered pair (moving, fixed) of distinct training
  subjects drawn uniformly each step, Adam at `learning_rate` (3e-4), loss MSE(warped, fixed) +
  `lambda_r` (0.01) x the library's smoothness term, torch seed and sampler seed `seed` (7);
- `threads` (2) CPU threads.
"""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    shmoareg, out = sys.argv[1], os.path.abspath(sys.argv[2])
    config_path = sys.argv[3] if len(sys.argv) == 4 else os.path.join(ROOT, "models", "training",
                                                                      "colin27-synthetic-3mm.json")
    with open(config_path) as f:
        config = json.load(f)
    synthetic = config["synthetic"]
    threads = int(config.get("threads", 2))
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)
    import numpy as np
    import nibabel as nib
    import torch
    import monai_voxelmorph as mv

    torch.set_num_threads(threads)
    data = os.path.join(out, "data")
    if not os.path.exists(os.path.join(data, "manifest.json")):
        subprocess.run([shmoareg, "synthesize", "--config", config_path, "--train", str(synthetic["train"]),
                        "--val", str(synthetic["val"]), "--test", "0", "--output", data], check=True)
    with open(os.path.join(data, "manifest.json")) as f:
        manifest = json.load(f)
    grid = config["grid"]
    crop_mm = config["centre_crop_mm"]
    voxel_mm = []  # each subject's network voxel size (mm)

    def prepare(entry):
        # A manifest's relative paths are relative to its folder (join keeps absolute ones).
        image = nib.load(os.path.join(data, entry["image"]))
        array = np.asarray(image.get_fdata(dtype=np.float32))
        spacing = image.header.get_zooms()[:3]
        size, start = [], []
        for a in range(3):  # Trainer.cxx centreCropRegion
            voxels = int(round(crop_mm[a] / spacing[a]))
            if voxels == 0 or voxels >= array.shape[a]:
                voxels = array.shape[a]
            size.append(voxels)
            start.append((array.shape[a] - voxels) // 2)
        voxel_mm.append([float(spacing[a]) * size[a] / grid[a] for a in range(3)])
        coordinates = mv.grid_coordinates(size, grid, start)
        image_on_grid = mv.normalise(mv.sample(array, coordinates, order=1))
        labels = mv.sample(np.asarray(nib.load(os.path.join(data, entry["labels"])).dataobj), coordinates, order=0)
        return (torch.from_numpy(image_on_grid)[None, None],
                torch.from_numpy(labels.astype(np.int16))[None, None])

    train = [prepare(e) for e in manifest["subjects"] if e["split"] == "train"]
    val = [prepare(e) for e in manifest["subjects"] if e["split"] == "val"]
    pairs = [(m, f) for m in range(len(train)) for f in range(len(train)) if m != f]
    val_pairs = [(m, f) for m in range(len(val)) for f in range(len(val)) if m != f][:int(config.get("validation_pairs", 4))]

    seed = int(config.get("seed", 7))
    torch.manual_seed(seed)
    sampler = np.random.default_rng(seed)
    network = mv.build_network()
    parameters = sum(p.numel() for p in network.parameters())
    optimizer = torch.optim.Adam(network.parameters(), lr=float(config["learning_rate"]))
    weight = float(config["lambda_r"])
    from monai.networks.blocks import Warp
    warp_labels = Warp(mode="nearest", padding_mode="zeros")

    def validate():
        network.eval()
        dice, identity = 0.0, 0.0
        with torch.no_grad():
            for m, f in val_pairs:
                _, u = mv.forward(network, val[m][0], val[f][0])
                warped = warp_labels(val[m][1].float(), u)
                for moved, total in ((warped, "dice"), (val[m][1].float(), "identity")):
                    scores = []
                    fixed = val[f][1].float()
                    for label in torch.unique(fixed):
                        if label == 0:
                            continue
                        a, b = moved == label, fixed == label
                        scores.append(2.0 * (a & b).sum().item() / (a.sum().item() + b.sum().item()))
                    if total == "dice":
                        dice += np.mean(scores) / len(val_pairs)
                    else:
                        identity += np.mean(scores) / len(val_pairs)
        network.train()
        return dice, identity

    os.makedirs(out, exist_ok=True)
    log = open(os.path.join(out, "log.csv"), "w")
    log.write("iteration,split,total,similarity,smoothness,dice,seconds\n")
    started = time.perf_counter()
    dice0, identity = validate()
    log.write(f"0,val,,,,{dice0:.6f},{time.perf_counter() - started:.1f}\n")
    print(f"validation at 0: Dice {dice0:.4f} (identity {identity:.4f}); {parameters} parameters", flush=True)
    iterations = int(config["iterations"])
    network.train()
    for iteration in range(1, iterations + 1):
        m, f = pairs[int(sampler.integers(len(pairs)))]
        optimizer.zero_grad()
        warped, u = mv.forward(network, train[m][0], train[f][0])
        similarity = (warped - train[f][0]).pow(2).mean()
        regularisation = mv.smoothness(u)
        loss = similarity + weight * regularisation
        loss.backward()
        optimizer.step()
        seconds = time.perf_counter() - started
        log.write(f"{iteration},train,{loss.item():.8f},{similarity.item():.8f},{regularisation.item():.8f},,{seconds:.1f}\n")
        if iteration % int(config.get("log_interval", 50)) == 0:
            log.flush()
            rate = iteration / seconds
            print(f"iter {iteration}/{iterations} | loss {loss.item():.5f} | {rate:.2f} it/s | "
                  f"ETA {(iterations - iteration) / rate / 60:.1f} min", flush=True)
    dice, identity = validate()
    seconds = time.perf_counter() - started
    log.write(f"{iterations},val,,,,{dice:.6f},{seconds:.1f}\n")
    log.close()
    print(f"validation at {iterations}: Dice {dice:.4f} (identity {identity:.4f}); {seconds:.0f} s", flush=True)
    state = {"state_dict": network.state_dict(), "network": "monai.networks.nets.VoxelMorph() defaults",
             "network_voxel_mm": voxel_mm[0], "parameters": parameters,
             "training": {"config": config, "iterations": iterations, "seconds": seconds, "threads": threads,
                          "validation_dice": dice, "validation_identity_dice": identity,
                          "monai": __import__("monai").__version__, "torch": torch.__version__}}
    partial = os.path.join(out, "model.partial.pt")
    torch.save(state, partial)
    os.replace(partial, os.path.join(out, "model.pt"))


if __name__ == "__main__":
    main()
