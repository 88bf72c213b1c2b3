"""torchvision's own ResNet-18 through a factory, as fine-tuning scripts write it."""
import torchvision


def build(num_classes=1000):
    return torchvision.models.resnet18(num_classes=num_classes)
