"""Same-card baselines for Project 3's GPU targets, measured with PyTorch and CUDA events.

Prints one JSON object: cuBLAS fp32 SGEMM (TF32 off) and TF32, device copy bandwidth, the
memory-bound ops at the sizes the reference kernels are measured at, and fp32 SDPA. Run by
gpu-check.sh; any part that fails is left out (with the reason under "errors").
"""
import json
import sys


def main() -> None:
    out = {"errors": {}}
    try:
        import torch
        import torch.nn.functional as F
    except Exception as e:  # no PyTorch on this machine
        out["errors"]["import"] = repr(e)
        print(json.dumps(out))
        return
    if not torch.cuda.is_available():
        out["errors"]["cuda"] = "torch.cuda.is_available() is False"
        print(json.dumps(out))
        return
    dev = "cuda"
    out["device"] = torch.cuda.get_device_name()
    out["torch"] = torch.__version__
    out["cuda"] = torch.version.cuda

    def bench(fn, reps=30, warm=5):
        for _ in range(warm):
            fn()
        torch.cuda.synchronize()
        times = []
        for _ in range(reps):
            a = torch.cuda.Event(enable_timing=True)
            b = torch.cuda.Event(enable_timing=True)
            a.record()
            fn()
            b.record()
            torch.cuda.synchronize()
            times.append(a.elapsed_time(b))
        times.sort()
        return times[len(times) // 2]

    def part(name, f):
        try:
            f()
        except Exception as e:
            out["errors"][name] = repr(e)
        torch.cuda.empty_cache()

    def sgemm():
        torch.backends.cuda.matmul.allow_tf32 = False
        for n in (4096, 8192):
            a = torch.randn(n, n, device=dev)
            b = torch.randn(n, n, device=dev)
            ms = bench(lambda: a @ b)
            out[f"sgemm_{n}_tflops"] = 2 * n**3 / ms / 1e9
        torch.backends.cuda.matmul.allow_tf32 = True
        a = torch.randn(4096, 4096, device=dev)
        b = torch.randn(4096, 4096, device=dev)
        out["tf32_4096_tflops"] = 2 * 4096**3 / bench(lambda: a @ b) / 1e9
        torch.backends.cuda.matmul.allow_tf32 = False

    def copy():
        n = 64 * 2**20  # 256 MiB of float32
        x = torch.randn(n, device=dev)
        y = torch.empty_like(x)
        out["copy_gbps"] = 2 * 4 * n / bench(lambda: y.copy_(x)) / 1e6

    def memory_bound():
        x = torch.randn(16384, 4096, device=dev)
        n = x.numel()
        out["softmax_16384x4096_gbps"] = 8 * n / bench(lambda: torch.softmax(x, dim=1)) / 1e6
        g = torch.randn(4096, device=dev)
        b = torch.randn(4096, device=dev)
        out["layernorm_16384x4096_gbps"] = (8 * n + 8 * 4096) / bench(lambda: F.layer_norm(x, (4096,), g, b, 1e-5)) / 1e6
        out["sum_rows_16384x4096_gbps"] = 4 * (n + 16384) / bench(lambda: x.sum(dim=1)) / 1e6
        v = torch.randn(2**26, device=dev)
        out["sum_vector_2^26_gbps"] = 4 * v.numel() / bench(lambda: v.sum()) / 1e6
        t = torch.randn(8192, 8192, device=dev)
        out["transpose_8192_gbps"] = 8 * t.numel() / bench(lambda: t.t().contiguous()) / 1e6

    def sdpa():
        for d, causal in ((128, True), (128, False), (64, True)):
            B, H, S = 8, 16, 4096
            q = torch.randn(B, H, S, d, device=dev)
            k = torch.randn(B, H, S, d, device=dev)
            v = torch.randn(B, H, S, d, device=dev)
            ms = bench(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal), reps=10, warm=2)
            flops = 4 * B * H * S * S * d / (2 if causal else 1)
            out[f"sdpa_{'causal_' if causal else ''}d{d}_tflops"] = flops / ms / 1e9
            del q, k, v
            torch.cuda.empty_cache()

    part("sgemm", sgemm)
    part("copy", copy)
    part("memory_bound", memory_bound)
    part("sdpa", sdpa)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
    sys.exit(0)
