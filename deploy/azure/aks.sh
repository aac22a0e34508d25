#!/usr/bin/env bash
# AKS with a GPU node pool, a registry for the hub's image, and the AKS overlay applied.
# Needs the Azure CLI (logged in), kubectl and Docker-free `az acr build`. Run from the repository root.
#
#   LOCATION=japaneast ACR_NAME=mcphubacr GPU_SIZE=Standard_NC48ads_A100_v4 deploy/azure/aks.sh
#
# GPU pool sizes: Standard_NC24ads_A100_v4 (1x A100 80GB), Standard_NC48ads_A100_v4 (2x, the
# overlay's default: r1-ja-32b with --tp 2), Standard_NC96ads_A100_v4 (4x), Standard_ND96isr_H100_v5
# (8x H100, for R1 / V3.x). Keep nvidia.com/gpu and --tensor-parallel-size equal to the GPUs a pod gets.
set -euo pipefail

RESOURCE_GROUP=${RESOURCE_GROUP:-mcp-hub}
LOCATION=${LOCATION:-japaneast}
CLUSTER=${CLUSTER:-mcp-hub}
ACR_NAME=${ACR_NAME:-mcphubacr}
GPU_SIZE=${GPU_SIZE:-Standard_NC48ads_A100_v4}
GPU_NODES=${GPU_NODES:-1}
OVERLAY=deploy/kubernetes/overlays/aks

[ -s "$OVERLAY/secrets/token" ] || {
  echo "create $OVERLAY/secrets/token first: python3 -c 'import secrets; print(secrets.token_urlsafe(32))' > $OVERLAY/secrets/token" >&2
  exit 64
}

grep -q "newName: $ACR_NAME.azurecr.io/mcp-hub" "$OVERLAY/kustomization.yaml" || {
  echo "set the image in $OVERLAY/kustomization.yaml to $ACR_NAME.azurecr.io/mcp-hub (images: newName)" >&2
  exit 64
}

az group create --name "$RESOURCE_GROUP" --location "$LOCATION" --output none
az acr create --resource-group "$RESOURCE_GROUP" --name "$ACR_NAME" --sku Standard --output none

# Azure CNI with Cilium: NetworkPolicies are enforced. KEDA add-on for the optional request-rate scaler.
az aks create \
  --resource-group "$RESOURCE_GROUP" --name "$CLUSTER" --location "$LOCATION" \
  --node-count 3 --node-vm-size Standard_D4s_v5 --zones 1 2 3 \
  --network-plugin azure --network-plugin-mode overlay --network-dataplane cilium \
  --enable-keda --attach-acr "$ACR_NAME" --generate-ssh-keys --output none

# The GPU pool: tainted so only GPU pods (vLLM tolerates sku=gpu) land there. AKS installs the
# NVIDIA driver on GPU nodes; the device plugin is installed below.
az aks nodepool add \
  --resource-group "$RESOURCE_GROUP" --cluster-name "$CLUSTER" --name gpu \
  --node-vm-size "$GPU_SIZE" --node-count "$GPU_NODES" \
  --node-taints sku=gpu:NoSchedule --labels workload=vllm --output none

az aks get-credentials --resource-group "$RESOURCE_GROUP" --name "$CLUSTER" --overwrite-existing
kubectl apply -f https://raw.githubusercontent.com/NVIDIA/k8s-device-plugin/v0.17.0/deployments/static/nvidia-device-plugin.yml
kubectl -n kube-system patch daemonset nvidia-device-plugin-daemonset --type merge \
  -p '{"spec":{"template":{"spec":{"tolerations":[{"key":"sku","operator":"Equal","value":"gpu","effect":"NoSchedule"},{"key":"nvidia.com/gpu","operator":"Exists","effect":"NoSchedule"}]}}}}'

# The hub's image, built in the registry (no local Docker needed).
az acr build --registry "$ACR_NAME" --image mcp-hub:0.1.0 --file deploy/Dockerfile .

kubectl apply -k "$OVERLAY"
kubectl -n mcp-hub rollout status deployment/mcp-hub --timeout=5m
echo "vLLM downloads its weights on first start: kubectl -n mcp-hub logs -f deployment/vllm"
