def f(n):
    return f(n + 1)

X = f(0)
NAME = "t" * 3
