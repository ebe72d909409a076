namespace StableDiffusion.Random;

/// <summary>
/// The 32-bit Mersenne Twister (MT19937) with the classic <c>init_genrand</c> seeding. Both PyTorch's CPU
/// generator (<c>at::mt19937</c>) and NumPy's legacy <c>RandomState</c> (for an integer seed) use exactly this
/// engine and seeding, so both generators in this folder share it.
/// </summary>
internal sealed class MersenneTwister
{
    private const int StateSize = 624;
    private const int ShiftSize = 397;
    private const uint MatrixA = 0x9908b0dfu;
    private const uint UpperMask = 0x80000000u;
    private const uint LowerMask = 0x7fffffffu;

    private readonly uint[] _state = new uint[StateSize];
    private int _next;

    public MersenneTwister(uint seed)
    {
        _state[0] = seed;
        for (int i = 1; i < StateSize; i++)
        {
            uint previous = _state[i - 1];
            _state[i] = unchecked(1812433253u * (previous ^ (previous >> 30)) + (uint)i);
        }
        // Regenerate the whole block on the first draw.
        _next = StateSize;
    }

    /// <summary>The next tempered 32-bit output.</summary>
    public uint NextUInt32()
    {
        if (_next >= StateSize)
            Twist();

        uint y = _state[_next++];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c5680u;
        y ^= (y << 15) & 0xefc60000u;
        y ^= y >> 18;
        return y;
    }

    private void Twist()
    {
        uint[] mt = _state;
        int k = 0;
        for (; k < StateSize - ShiftSize; k++)
        {
            uint y = (mt[k] & UpperMask) | (mt[k + 1] & LowerMask);
            mt[k] = mt[k + ShiftSize] ^ (y >> 1) ^ ((y & 1u) != 0 ? MatrixA : 0u);
        }
        for (; k < StateSize - 1; k++)
        {
            uint y = (mt[k] & UpperMask) | (mt[k + 1] & LowerMask);
            mt[k] = mt[k + (ShiftSize - StateSize)] ^ (y >> 1) ^ ((y & 1u) != 0 ? MatrixA : 0u);
        }
        uint last = (mt[StateSize - 1] & UpperMask) | (mt[0] & LowerMask);
        mt[StateSize - 1] = mt[ShiftSize - 1] ^ (last >> 1) ^ ((last & 1u) != 0 ? MatrixA : 0u);
        _next = 0;
    }
}
