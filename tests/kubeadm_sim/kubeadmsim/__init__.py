"""kubeadm-sim: the kubeadm stand-in used by the tests (see docs/kubeadm-contract.md)."""
