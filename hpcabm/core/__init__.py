"""The distributed core shared by every model: config, comm (all MPI), rng (counter-based),
partition, checkpoint, output, runner, cli."""
