namespace StableDiffusion.Schedulers;

// PROVISIONAL: replaced by the shared NoiseSchedule when branch sched1 lands.
internal static class TrainingSchedule
{
    public static float[] AlphasCumprod(SchedulerConfig config, bool supportsZeroSnrRescale)
    {
        int n = config.GetInt("num_train_timesteps", 1000);
        double start = config.GetDouble("beta_start", 0.0001), end = config.GetDouble("beta_end", 0.02);
        string schedule = config.GetString("beta_schedule", "linear") ?? "linear";
        var trained = config.GetDoubleArray("trained_betas");
        float[] betas;
        if (trained is not null) betas = Array.ConvertAll(trained, b => (float)b);
        else if (schedule == "linear") betas = Linspace((float)start, (float)end, n);
        else if (schedule == "scaled_linear")
        {
            betas = Linspace((float)Math.Sqrt(start), (float)Math.Sqrt(end), n);
            for (int i = 0; i < n; i++) betas[i] *= betas[i];
        }
        else throw new NotSupportedException(schedule);
        if (supportsZeroSnrRescale && config.GetBool("rescale_betas_zero_snr", false)) throw new NotSupportedException("provisional");
        var ac = new float[n];
        double acc = 1;
        for (int i = 0; i < n; i++) { acc *= 1f - betas[i]; ac[i] = (float)acc; }
        return ac;
    }

    private static float[] Linspace(float s, float e, int steps)
    {
        var r = new float[steps];
        float step = (e - s) / (steps - 1);
        long halfway = steps / 2;
        int i = 0;
        for (; i <= steps - 16; i += 16)
            for (int block = 0; block < 2; block++)
            {
                long idx = i + block * 8;
                float b = idx < halfway ? s + step * idx : e - step * (steps - idx - 1);
                for (int k = 0; k < 8; k++) r[idx + k] = b + k * step;
            }
        for (; i < steps; i++) r[i] = i < halfway ? s + step * i : e - step * (steps - i - 1);
        return r;
    }
}
