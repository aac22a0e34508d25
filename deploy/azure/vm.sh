#!/usr/bin/env bash
# One Azure GPU VM running deploy/compose.yaml (vLLM + the hub). Needs the Azure CLI, logged in.
#
#   LOCATION=japaneast SIZE=Standard_NC24ads_A100_v4 CLIENT_CIDR=203.0.113.0/24 deploy/azure/vm.sh
#
# Sizes (one VM, one to eight GPUs; set --tp / the compose GPU count to match):
#   Standard_NC24ads_A100_v4   1x A100 80GB    R1 distills up to 14B at full context, 32B at --max-model-len 32768
#   Standard_NC48ads_A100_v4   2x A100 80GB    32B distills (r1-ja-32b) with --tp 2
#   Standard_NC40ads_H100_v5   1x H100 NVL 94GB
#   Standard_NC80adis_H100_v5  2x H100 NVL 94GB
#   Standard_ND96isr_H100_v5   8x H100 80GB    R1 / V3.x (671B) need at least one of these (FP8), --tp 8
set -euo pipefail

RESOURCE_GROUP=${RESOURCE_GROUP:-mcp-hub}
LOCATION=${LOCATION:-japaneast}
VM_NAME=${VM_NAME:-mcp-hub-gpu}
SIZE=${SIZE:-Standard_NC24ads_A100_v4}
CLIENT_CIDR=${CLIENT_CIDR:?set CLIENT_CIDR to the network your MCP clients connect from (the hub port opens only to it)}
DISK_GB=${DISK_GB:-512}

az group create --name "$RESOURCE_GROUP" --location "$LOCATION" --output none

# Ubuntu 22.04 with SSH keys; the weights and images need a large OS disk.
az vm create \
  --resource-group "$RESOURCE_GROUP" --name "$VM_NAME" --size "$SIZE" \
  --image Canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2:latest \
  --os-disk-size-gb "$DISK_GB" --generate-ssh-keys --public-ip-sku Standard \
  --custom-data "$(dirname "$0")/cloud-init.yaml" --output none

# The NVIDIA driver, as an Azure extension.
az vm extension set \
  --resource-group "$RESOURCE_GROUP" --vm-name "$VM_NAME" \
  --name NvidiaGpuDriverLinux --publisher Microsoft.HpcCompute --output none

# Only the hub's port, only from the clients' network (vLLM stays on the VM's loopback).
az vm open-port --resource-group "$RESOURCE_GROUP" --name "$VM_NAME" \
  --port 8080 --priority 1010 --output none
az network nsg rule update --resource-group "$RESOURCE_GROUP" \
  --nsg-name "${VM_NAME}NSG" --name open-port-8080 --source-address-prefixes "$CLIENT_CIDR" --output none

IP=$(az vm show --show-details --resource-group "$RESOURCE_GROUP" --name "$VM_NAME" --query publicIps --output tsv)
cat <<NEXT
VM ready at $IP. On it (ssh azureuser@$IP):
  git clone <this repository> mcp-hub && cd mcp-hub/deploy
  python3 -c 'import secrets; print(secrets.token_urlsafe(32))' > secrets/token
  chmod 0640 secrets/token && sudo chgrp 10001 secrets/token
  docker compose up -d
Clients: http://$IP:8080/mcp with "Authorization: Bearer <secrets/token>" (put TLS in front for use
beyond a private network: an Application Gateway, or Caddy/nginx on the VM).
NEXT
