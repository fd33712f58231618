"""What every method shares: the batched optimization loop (:mod:`.loop`), objectives as small composable
values (:mod:`.objectives`) over the regularizers (:mod:`.regularizers`), and several checkpoints stacked into one
model (:mod:`.stacked`). A model's input streams in the optimizer's units are the adapter's
(:mod:`vidvis_widgets.models.streams`)."""
