"""Neural-network modules shaped like ``torch.nn``: Module/Parameter, layers, containers, losses,
``nn.functional`` and ``nn.init``."""
from . import functional, init  # noqa: F401
from .activation import (ELU, GELU, Dropout, Dropout2d, Hardtanh, LeakyReLU, LogSoftmax, Mish, ReLU, ReLU6,  # noqa: F401
                         Sigmoid, SiLU, Softmax, Softmin, Softplus, Tanh)
from .container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential  # noqa: F401
from .conv import Conv2d  # noqa: F401
from .conv_transpose import Conv1d, ConvTranspose1d, ConvTranspose2d  # noqa: F401
from .functional_distance import CosineSimilarity, PairwiseDistance  # noqa: F401
from .group_norm import GroupNorm, RMSNorm, Upsample  # noqa: F401
from .linear import Flatten, Identity, Linear, Unflatten  # noqa: F401
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss, MSELoss,  # noqa: F401
                   NLLLoss, SmoothL1Loss)
from .module import Module, RemovableHandle  # noqa: F401
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm  # noqa: F401
from .parameter import Buffer, Parameter  # noqa: F401
from .rnn import GRU, LSTM, RNN, RNNBase  # noqa: F401
from .rnn_cell import GRUCell, LSTMCell, RNNCell, RNNCellBase  # noqa: F401
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d  # noqa: F401
from .sparse import Embedding  # noqa: F401
from .transformer import (MultiheadAttention, Transformer, TransformerDecoder, TransformerDecoderLayer,  # noqa: F401
                          TransformerEncoder, TransformerEncoderLayer)
from .layers_extra import (GLU, SELU, Hardswish, AdaptiveAvgPool1d, AdaptiveMaxPool1d, AvgPool1d, CircularPad1d,  # noqa: F401
                           CircularPad2d, CosineEmbeddingLoss, EmbeddingBag, Fold, HingeEmbeddingLoss, InstanceNorm1d,
                           InstanceNorm2d, LogSigmoid, MarginRankingLoss, MaxPool1d, PixelShuffle, PixelUnshuffle,
                           ReflectionPad1d, ReflectionPad2d, ReplicationPad1d, ReplicationPad2d, TripletMarginLoss,
                           Unfold, ConstantPad1d, ConstantPad2d, ZeroPad1d, ZeroPad2d)
from . import activations_more as _activations_more, ctc as _ctc, losses_more as _losses_more  # noqa: E402
from . import volumetric as _volumetric  # noqa: E402

for _m in (_activations_more, _ctc, _losses_more, _volumetric):   # each lists its nn.functional and nn names
    for _n in _m.FUNCTIONAL:
        setattr(functional, _n, getattr(_m, _n))
        functional.__all__.append(_n)
    globals().update({_n: getattr(_m, _n) for _n in _m.MODULES})
from . import utils  # noqa: F401,E402
from . import modules  # noqa: F401,E402  (torch.nn.modules.module's global hooks)
from . import parallel  # noqa: F401,E402  (autograd.nn.parallel.DistributedDataParallel, as torch.nn.parallel)
